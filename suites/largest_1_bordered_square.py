"""Suite for largest_1_bordered_square: the largest square sub-grid whose border is all 1s."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from array_api_compat import array_namespace

from harness.args import Arg, Args
from harness.cases import bench, case, edge, error
from harness.comparators import Exact
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite


@dataclass(frozen=True)
class BorderOptions(Options):
    answer: str = option("area", "side", meaning="area: k^2 of the largest square; side: k")
    ones: str = option(
        "binary",
        "nonzero",
        meaning="binary: an integer grid of 0s and 1s (anything else is refused); nonzero: "
        "any integer or float grid, every nonzero value counts as a 1",
    )


ARGS = Args(Arg("grid", ("H", "W"), "real"))


def check(grid: Any, opts: BorderOptions) -> None:
    """Rows of a list grid must have equal lengths (ValueError), then ARGS.check and the
    ones convention: 'binary' takes an integer grid of 0s and 1s (TypeError, ValueError),
    'nonzero' any real grid without NaN. An empty list grid stands for an empty integer
    grid."""
    if isinstance(grid, list) and all(isinstance(row, list) for row in grid):
        if len({len(row) for row in grid}) > 1:
            raise ValueError("grid has ragged rows: every row must have the same length")
        if all(not row for row in grid):
            grid = np.zeros((len(grid), 0), dtype=np.int8)
    ARGS.check(grid)
    g = np.asarray(grid) if isinstance(grid, list) else grid
    xp = array_namespace(g)
    if opts.ones == "binary":
        if not xp.isdtype(g.dtype, "integral"):
            raise TypeError(f"grid must be an integer grid of 0s and 1s, got {g.dtype}")
        if not bool(xp.all((g == 0) | (g == 1))):
            raise ValueError("grid holds values other than 0 and 1 (ones='nonzero' takes them)")
    elif xp.isdtype(g.dtype, "real floating") and bool(xp.any(xp.isnan(g))):
        raise ValueError("grid holds NaN: neither 0 nor 1")


def largest_1_bordered_square(grid: Any, opts: BorderOptions) -> np.ndarray:
    """Oracle: sizes k from min(H, W) down; for each k, every k x k window's four sides
    are summed from row and column prefix sums (whole-array slices per k), and the first k
    with a window whose four side sums all equal k is the answer. Returns int64 0-d."""
    check(grid, opts)
    g = (np.asarray(grid) != 0).astype(np.int64)
    h, w = g.shape
    rows = np.pad(np.cumsum(g, axis=1), ((0, 0), (1, 0)))  # rows[i, j] = sum g[i, :j]
    cols = np.pad(np.cumsum(g, axis=0), ((1, 0), (0, 0)))  # cols[i, j] = sum g[:i, j]
    for k in range(min(h, w), 0, -1):
        a, b = h - k + 1, w - k + 1  # window top-left corners (i, j): i < a, j < b
        top = rows[:a, k : k + b] - rows[:a, :b]
        bottom = rows[k - 1 : k - 1 + a, k : k + b] - rows[k - 1 : k - 1 + a, :b]
        left = cols[k : k + a, :b] - cols[:a, :b]
        right = cols[k : k + a, k - 1 : k - 1 + b] - cols[:a, k - 1 : k - 1 + b]
        if np.any((top == k) & (bottom == k) & (left == k) & (right == k)):
            return np.array(k * k if opts.answer == "area" else k, dtype=np.int64)
    return np.array(0, dtype=np.int64)


# ---- inputs ----------------------------------------------------------------------------------


def make_inputs(case: Case) -> Inputs:
    p, rng = case.params, np.random.default_rng(case.seed)
    h, w = int(p["h"]), int(p["w"])
    pattern = str(p.get("pattern", "random"))
    if pattern == "random":
        g = (rng.random((h, w)) < float(p.get("density", 0.95))).astype(np.int8)
    elif pattern == "ones":
        g = np.ones((h, w), np.int8)
    elif pattern == "zeros":
        g = np.zeros((h, w), np.int8)
    elif pattern == "single":
        g = np.zeros((h, w), np.int8)
        g[h // 2, w // 3] = 1
    elif pattern == "hollow":  # a k x k ring with a zero interior in a sparse background
        g = (rng.random((h, w)) < 0.3).astype(np.int8)
        k, i, j = int(p["k"]), int(p.get("i", 1)), int(p.get("j", 2))
        g[i : i + k, j : j + k] = 1
        g[i + 1 : i + k - 1, j + 1 : j + k - 1] = 0
    elif pattern == "traps":  # two traps for a search that trusts the corner's runs
        g = np.zeros((h, w), np.int8)
        g[7, 1:7] = g[2:8, 6] = 1  # an L: runs of 6 at its corner, yet no square above 1
        g[12:15, 12] = g[12:15, 14] = g[12, 12:15] = g[14, 12:15] = 1  # a 3 x 3 ring
        g[14, 10:12] = g[10:12, 14] = 1  # its bottom and right sides run on: bound 5, k 3
    else:  # "nested": dense L-shapes (bottom and right runs long, top/left borders broken)
        g = np.ones((h, w), np.int8)
        g[::7, :] = 0
        g[:, ::5] = 0
        g[rng.random((h, w)) < 0.02] = 0
    if p.get("weights"):  # ones 'nonzero': 1-cells get values of any size and sign
        vals = rng.choice([1e-300, -2.5, 7.0, 1e-40, 3.0], size=g.shape)
        g = np.where(g == 1, vals, 0.0)
    g = g.astype(p.get("dtype_of_grid", case.dtype))
    if p.get("bad_value") is not None and g.size:
        g.reshape(-1)[g.size // 2] = p["bad_value"]
    return {"grid": g}


def cost(case: Case) -> Cost:
    """Per cell: the two runs (~6 operations) and the bound min(left, up) compared with the
    best so far (~2); the candidate sizes tried at a corner are few on random and full grids
    (the best grows fast and then prunes almost every corner), ~4 a cell counted. An
    adversarial grid can reach the spec's O(H W min(H, W)) comparisons; the model counts
    the typical work so that the reported rates mean something. Bytes: the grid read (1 B
    a cell) and two run arrays written and read (~8 B)."""
    h, w = int(case.params["h"]), int(case.params["w"])
    n = h * w
    return Cost(12 * n + 1, 9 * n + 8, n, "cells")


# ---- cases -----------------------------------------------------------------------------------

SIDE = {"answer": "side"}
NONZERO = {"ones": "nonzero"}

CASES = [
    case("random_95", h=37, w=53),
    case("random_80_side", h=41, w=29, density=0.8, options=SIDE),
    case("random_99", h=60, w=45, density=0.99),
    case("nested", h=43, w=38, pattern="nested"),
    case("traps", h=18, w=21, pattern="traps"),
    case("hollow_big", h=30, w=40, pattern="hollow", k=19),
    # 300 rows: a blocked or tiled implementation must carry its runs across 256
    case("multi_block", h=300, w=23, density=0.97),
    case("multi_block_ring", h=301, w=270, pattern="hollow", k=262, i=20, j=4),
]

EDGES = [
    edge("empty_rows", h=0, w=7),
    edge("empty_cols", h=5, w=0),
    edge("empty_0x0", h=0, w=0),
    edge("all_zeros", h=11, w=13, pattern="zeros"),
    edge("single_one", h=9, w=14, pattern="single"),
    edge("hollow_2", h=6, w=8, pattern="hollow", k=2),
    edge("hollow_3", h=7, w=9, pattern="hollow", k=3, options=SIDE),
    edge("one_row", h=1, w=40, density=0.5),
    edge("one_col_ones", h=33, w=1, pattern="ones"),
    edge("full_wide", h=12, w=31, pattern="ones"),
    edge("full_tall_side", h=27, w=10, pattern="ones", options=SIDE),
    # ones 'nonzero': float64 values down to 1e-300 (zero in float32), negative, large
    edge("nonzero_weights_f64", h=33, w=27, weights=True, options=NONZERO, dtype="float64"),
    edge(
        "nonzero_ring_f64",
        h=16,
        w=19,
        pattern="hollow",
        k=9,
        weights=True,
        options=NONZERO,
        dtype="float64",
    ),
    edge("nonzero_int", h=19, w=23, density=0.9, options=NONZERO, dtype="int32", bad_value=3),
]

ERRORS = [
    error("float_grid", TypeError, r"\bgrid\b", h=6, w=5, dtype_of_grid="float64"),
    error("value_2", ValueError, r"other than 0 and 1", h=6, w=5, bad_value=2),
    error("value_minus_1", ValueError, r"other than 0 and 1", h=6, w=5, bad_value=-1),
    error(
        "nan_nonzero",
        ValueError,
        r"NaN",
        h=6,
        w=5,
        bad_value=float("nan"),
        options=NONZERO,
        dtype_of_grid="float64",
    ),
]

BENCH = {
    "smoke": [bench("bench_64", h=64, w=64)],
    "quick": [bench("bench_500", h=500, w=500)],
    "full": [
        bench("bench_500_ones", h=500, w=500, pattern="ones"),
        bench("bench_2000", h=2000, w=2000),
    ],
}


def _fuzz_case(h: int, w: int, params: dict[str, Any], options: dict[str, Any]) -> Case:
    return Case("fuzz", {"h": h, "w": w, **params}, options, "fuzz")


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "seed": st.integers(0, 2**31 - 1),
            "density": st.sampled_from([0.3, 0.8, 0.95, 1.0]),
            "pattern": st.sampled_from(["random", "random", "nested", "ones"]),
        }
    )
    return st.builds(
        _fuzz_case, st.integers(0, 24), st.integers(0, 24), params, BorderOptions.strategy()
    )


SUITE = Suite(
    algorithm="largest_1_bordered_square",
    family="puzzles",
    summary="The largest k such that some k x k sub-grid of a 0/1 grid has an all-1 border "
    "(its interior is free); the area k^2 or the side k.",
    conventions=(
        "largest_1_bordered_square(grid, opts) -> int64 0-d. grid: (H, W); ones 'binary' "
        "(default): integer 0s and 1s, any other value a ValueError, a float grid a "
        "TypeError; 'nonzero': any real grid, nonzero values count as 1 (NaN a "
        "ValueError). A list grid with rows of different lengths is a ValueError. The "
        "answer is k^2 (answer 'area', default) or k ('side') for the largest k x k window "
        "whose four sides are all 1 (interior free; a single 1 is k = 1); 0 when the grid "
        "has no 1 or is empty. The grid is never written."
    ),
    args=ARGS,
    options=BorderOptions,
    make_inputs=make_inputs,
    oracle=largest_1_bordered_square,
    compare=Exact("int64"),
    cost=cost,
    defaults={"seed": 23, "dtype": "int8"},
    cases=[*CASES, *EDGES],
    errors=ERRORS,
    bench=BENCH,
    standard="bench_500",
    outputs=("answer",),
    multi_block={"H": 300, "W": 262},
    fuzz=fuzz_strategy,
    backends=("python", "numpy", "numba"),
    reference="brute force over every window on small grids (the tests); no library solves it",
)
