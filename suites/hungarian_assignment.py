"""Suite for hungarian_assignment: a minimum- (or maximum-) cost matching of an N x M matrix."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import NO_NAN, Arg, Args, Rule
from harness.cases import bench, case, edge, error
from harness.comparators import Assignment
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance

INFEASIBLE = "cost matrix is infeasible"  # scipy's message, word for word


@dataclass(frozen=True)
class AssignmentOptions(Options):
    maximize: bool = option(
        False, True, meaning="maximise the total (scipy maximize=True); +inf stays forbidden"
    )


def _with_neg_inf(x: np.ndarray) -> np.ndarray:
    out = np.array(x, dtype=np.result_type(x, np.float64), copy=True)
    out.reshape(-1)[0] = -np.inf
    return out


NO_NEG_INF = Rule(
    "no -inf (+inf marks a forbidden pair)", lambda xp, x: x == -math.inf, _with_neg_inf
)

ARGS = Args(Arg("cost", ("N", "M"), "real", rules=(NO_NAN, NO_NEG_INF)))


def hungarian_assignment(cost: Any, opts: AssignmentOptions) -> Any:
    """Oracle: float64 shortest augmenting paths with dual potentials, one row at a time.

    The textbook Hungarian method in its Dijkstra form: the matrix is oriented so that rows
    <= columns, and each row in turn reaches a free column along the cheapest path of
    reduced costs c[i, j] - u[i] - v[j] >= 0 (no heuristics, no initial matching).
    """
    ARGS.check(cost)
    c = np.asarray(cost, dtype=np.float64)
    if opts.maximize:  # maximise c = minimise -c; +inf keeps meaning "forbidden"
        c = np.where(np.isposinf(c), np.inf, -c)
    tall = c.shape[0] > c.shape[1]
    col_of_row = _shortest_augmenting_paths(c.T if tall else c)
    solved_rows = np.arange(len(col_of_row), dtype=np.int64)
    if not tall:
        return solved_rows, col_of_row
    order = np.argsort(col_of_row)  # the solved rows are the original columns
    return col_of_row[order], solved_rows[order]


def _shortest_augmenting_paths(c: np.ndarray) -> np.ndarray:
    """For n <= m: the column of every row in a minimum-cost matching (int64, length n)."""
    n, m = c.shape
    u, v = np.zeros(n), np.zeros(m)
    row_of_col = np.full(m, -1, dtype=np.int64)
    col_of_row = np.full(n, -1, dtype=np.int64)
    for start in range(n):
        dist = np.full(m, np.inf)  # cheapest reduced path length from `start` to each column
        came_from = np.full(m, -1, dtype=np.int64)  # the row each column is reached from
        final = np.zeros(m, dtype=bool)  # columns whose distance is settled
        row, row_dist = start, 0.0
        while True:
            through_row = row_dist + c[row] - u[row] - v
            shorter = ~final & (through_row < dist)
            dist[shorter] = through_row[shorter]
            came_from[shorter] = row
            open_dist = np.where(final, np.inf, dist)
            j = int(np.argmin(open_dist))
            if open_dist[j] == np.inf:  # no free column is reachable through allowed pairs
                raise ValueError(INFEASIBLE)
            final[j] = True
            if row_of_col[j] < 0:
                break
            row, row_dist = int(row_of_col[j]), float(dist[j])
        # potentials: keep every reduced cost >= 0 and the new path's pairs at 0
        total = dist[j]
        scanned = final & (row_of_col >= 0)
        u[start] += total
        u[row_of_col[scanned]] += total - dist[scanned]
        v[final] -= total - dist[final]
        # flip the path: every column on it takes the row it was reached from
        while True:
            i = int(came_from[j])
            row_of_col[j] = i
            col_of_row[i], j = j, int(col_of_row[i])
            if i == start:
                break
    return col_of_row


def make_inputs(case: Case) -> Inputs:
    p = case.params
    rng = np.random.default_rng(case.seed)
    n, m, pattern = int(p.get("n", 0)), int(p.get("m", 0)), p.get("pattern", "uniform")
    c = rng.uniform(0.0, 1.0, size=(n, m))
    if pattern == "int":  # small integers: many ties, many optima, exact totals
        c = rng.integers(0, int(p.get("high", 100)), size=(n, m)).astype(np.float64)
    elif pattern == "equal":  # every matching is optimal
        c = np.full((n, m), 7.0)
    elif pattern == "negative":
        c = -rng.uniform(1.0, 1000.0, size=(n, m))
    elif pattern == "product":  # c = (i+1)(j+1): the anti-diagonal, reached by long paths
        c = np.outer(np.arange(1.0, n + 1), np.arange(1.0, m + 1))
    elif pattern == "offset":  # 1e15 + integers: exact in float64, all equal in float32
        c = 1e15 + rng.integers(0, 1000, size=(n, m)).astype(np.float64)
    elif pattern == "forbidden":  # +inf pairs around one hidden finite matching
        k = min(n, m)
        blocked = rng.uniform(size=(n, m)) < float(p.get("p_inf", 0.5))
        blocked[rng.permutation(n)[:k], rng.permutation(m)[:k]] = False
        c[blocked] = np.inf
    elif pattern == "infeasible":  # two rows (or two columns) share their one finite pair
        if n <= m:
            c[:2, 1:] = np.inf
        else:
            c[1:, :2] = np.inf
    elif pattern == "empty_line":  # one row with no allowed pair at all
        c[min(2, n - 1), :] = np.inf
    elif pattern == "neg_inf":
        c[1, 2] = -np.inf
    return {"cost": c.astype(case.dtype)}


def work(case: Case) -> Cost:
    """Expected work on random costs (the bench inputs): ~N·M·log2(min(N, M)) relaxations
    of 3 flops (subtract, compare, select) each, the expected-case order of shortest
    augmenting paths on random matrices (Karp, 1980). The worst case is O(min² · max)
    (``product_f64`` walks long paths), so GFLOP/s only compares implementations on the
    same inputs; matrices/s is the figure of merit."""
    n, m = int(case.params.get("n", 0)), int(case.params.get("m", 0))
    b = np.dtype(case.dtype).itemsize
    flops = 3.0 * n * m * max(math.log2(max(min(n, m), 1)), 1.0)
    return Cost(flops=flops, bytes=b * n * m + 16.0 * min(n, m), items=1, item_unit="matrices")


MAX = {"maximize": True}

CASES = [
    case("wide_f64", n=40, m=56),
    case("square_f64", n=64, m=64),
    case("square_f32", n=64, m=64, dtype="float32"),
    case("tall_f64", n=57, m=33),
    case("maximize_f64", n=50, m=50, options=MAX),
    case("maximize_wide_f32", n=30, m=45, dtype="float32", options=MAX),
    case("maximize_tall_f64", n=45, m=31, options=MAX),
    case("integer_int64", n=60, m=60, pattern="int", dtype="int64"),
    case("integer_maximize_int32", n=40, m=52, pattern="int", dtype="int32", options=MAX),
    case("product_f64", n=40, m=40, pattern="product"),
    # several hundred a side (tall: the solver runs on the transpose) past any 256 tile
    case("multi_block", n=300, m=280),
    edge("empty_both", n=0, m=0),
    edge("empty_rows", n=0, m=5),
    edge("empty_cols", n=4, m=0),
    edge("single", n=1, m=1),
    edge("single_row", n=1, m=7),
    edge("single_col", n=6, m=1),
    edge("all_equal", n=20, m=20, pattern="equal"),
    edge("all_equal_tall_int64", n=25, m=15, pattern="equal", dtype="int64"),
    edge("ties_three_levels_int64", n=50, m=50, pattern="int", high=3, dtype="int64"),
    edge("integer_large_int64", n=20, m=24, pattern="int", high=2**40, dtype="int64"),
    edge("negative_costs", n=40, m=40, pattern="negative"),
    edge("inf_entries", n=50, m=60, pattern="forbidden"),
    edge("inf_entries_dense", n=40, m=40, pattern="forbidden", p_inf=0.9),
    edge("inf_entries_tall", n=45, m=30, pattern="forbidden", p_inf=0.7),
    edge("inf_entries_maximize", n=40, m=40, pattern="forbidden", options=MAX),
    edge("offset_1e15", n=8, m=8, pattern="offset"),
    edge("offset_1e15_wide", n=6, m=8, pattern="offset"),
    edge("offset_1e15_maximize_tall", n=8, m=7, pattern="offset", options=MAX),
]

ERRORS = [
    error("infeasible_square", ValueError, INFEASIBLE, n=6, m=6, pattern="infeasible"),
    error("infeasible_tall", ValueError, INFEASIBLE, n=7, m=4, pattern="infeasible"),
    error("infeasible_row", ValueError, INFEASIBLE, n=5, m=8, pattern="empty_line"),
    error(
        "infeasible_maximize",
        ValueError,
        INFEASIBLE,
        n=6,
        m=9,
        pattern="infeasible",
        options=MAX,
    ),
    # -inf is refused whatever the direction (negating it would make it a forbidden +inf)
    error("neg_inf_maximize", ValueError, r"\bcost\b", n=5, m=5, pattern="neg_inf", options=MAX),
]

# quick holds the spec's standard 512 x 512 alone: with Numba's compile (~3 s on 2 cores)
# and NumPy's 0.1-0.2 s per call, a second quick size would push past the profile's budget
BENCH = {
    "smoke": [bench("bench_64", n=64, m=64)],
    "quick": [bench("bench_512", n=512, m=512)],
    "full": [
        bench("bench_256", n=256, m=256),
        bench("bench_1000x2000", n=1000, m=2000),
        bench("bench_2000", n=2000, m=2000),  # the spec's large size (oracle ~9 s here)
    ],
}

PATTERNS = {  # fuzz: the patterns each dtype can hold
    "float64": ["uniform", "int", "equal", "negative", "product", "forbidden", "offset"],
    "float32": ["uniform", "int", "equal", "negative", "forbidden"],
    "int64": ["int", "equal", "product"],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    kinds = st.sampled_from(
        [(dtype, pattern) for dtype, patterns in PATTERNS.items() for pattern in patterns]
    )
    return st.builds(
        lambda n, m, seed, kind, p_inf, maximize: Case(
            "fuzz",
            dict(n=n, m=m, seed=seed, dtype=kind[0], pattern=kind[1], p_inf=p_inf, high=4),
            {"maximize": maximize},
            "fuzz",
        ),
        st.integers(0, 12),  # 0 (empty) and 1 come up now and then: hypothesis likes the ends
        st.integers(0, 12),
        st.integers(0, 2**31 - 1),
        kinds,
        st.sampled_from([0.3, 0.8]),
        st.booleans(),
    )


class AssignmentTotals(Assignment):
    """Assignment, held to exact totals where every total is exact in float64."""

    def tolerance(self, case: Case) -> Tolerance:
        p = case.params
        if p.get("pattern") == "offset" and max(int(p.get("n", 0)), int(p.get("m", 0))) <= 8:
            return Tolerance(
                0.0,
                0.0,
                "1e15 + integers below 1000, at most 8 pairs: every partial sum stays below "
                "2**53, so totals are exact in float64 and any suboptimal matching is >= 1 off",
            )
        return super().tolerance(case)


def _maximize(case: Case) -> bool:
    return bool(case.options.get("maximize", False))


SUITE = Suite(
    backends=("python", "numpy", "numba", "library"),  # the specification: Py NP NB
    algorithm="hungarian_assignment",
    family="classical-ML-and-matching",
    summary="Minimum-cost matching of cost (N, M) -> (rows, cols) of min(N, M) int64 pairs.",
    conventions=(
        "Returns (rows, cols), int64, min(N, M) pairs, rows strictly ascending (scipy's "
        "linear_sum_assignment convention); a 0 x M or N x 0 matrix gives two empty arrays. "
        "Minimises the total cost, or maximises it with maximize=True. +inf marks a forbidden "
        "pair in both directions (scipy, with maximize=True, forbids -inf and refuses +inf "
        "instead); when no matching of min(N, M) allowed pairs exists the call raises "
        "ValueError('cost matrix is infeasible'). Raises ValueError on NaN or -inf entries and "
        "on anything but a 2-D matrix, TypeError on a bool or non-numeric matrix. Integer "
        "costs are solved exactly while totals stay below 2**53. Optimal matchings may be "
        "several: any valid matching whose total equals the optimum passes (exact for "
        "integers and for the 1e15-offset cases; 10*sqrt(K)*eps relative otherwise)."
    ),
    args=ARGS,
    options=AssignmentOptions,
    make_inputs=make_inputs,
    oracle=hungarian_assignment,
    compare=AssignmentTotals(maximize=_maximize),
    cost=work,
    defaults={"seed": 5, "dtype": "float64"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_512",
    outputs=("rows", "cols"),
    multi_block={"N": 300, "M": 280},
    fuzz=fuzz_strategy,
    reference="scipy.optimize.linear_sum_assignment",
)
