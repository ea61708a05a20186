"""Suite for topk_gather: torch.topk along one axis of a 2-D array -> (values, int64 indices)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, Scalar
from harness.cases import bench, case, edge, error
from harness.comparators import Close, Comparator, Comparison
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


@dataclass(frozen=True)
class TopkOptions(Options):
    largest: bool = option(True, False, meaning="the k largest values (True) or the k smallest")
    sorted: bool = option(
        True,
        False,
        meaning="values in rank order (best first) or in any order (torch's sorted=False)",
    )
    tie_break: str = option(
        "stable_lower_index",
        "unspecified",
        meaning="among equal values the lower index ranks first, or any index of an equal value "
        "(torch.topk: the values and their multiset are checked, indices only for consistency)",
    )


ARGS = Args(
    Arg("x", ("R", "N"), "real"),
    Scalar("k", "int", low=0),
    Scalar("dim", "int"),
)


def check(x: Any, k: int, dim: int, opts: TopkOptions) -> tuple[Any, int]:
    """The one-line input check of every implementation: returns (dtype, the axis 0 or 1)."""
    dtype = ARGS.check(x, k, dim)
    if not -2 <= int(dim) <= 1:
        raise ValueError(f"dim={dim} out of range for a 2-D x (-2..1)")
    axis, shape = int(dim) % 2, np.shape(x)
    if len(shape) == 2 and int(k) > shape[axis]:  # ([] from plain Python: no lines at all)
        raise ValueError(f"k={k} exceeds the {shape[axis]} entries along dim {dim}")
    return dtype, axis


def rank_key(value: float, index: int, largest: bool) -> tuple[int, float, int]:
    """Sort key of one entry, best first: NaN ranks largest (torch.topk), -0.0 ties 0.0,
    the lower index first among equal values."""
    if math.isnan(value):
        return (0 if largest else 1, 0.0, index)
    return (1 if largest else 0, -value if largest else value, index)


def topk(x: Any, k: int, dim: int, opts: TopkOptions) -> tuple[Any, Any]:
    """Oracle: every line sorted by rank_key in plain Python, the first k kept (always in rank
    order: the comparator accepts any order when sorted is False)."""
    _, axis = check(x, k, dim, opts)
    a = np.moveaxis(np.asarray(x), axis, -1)
    values = np.empty((*a.shape[:-1], int(k)), dtype=a.dtype)
    indices = np.empty((*a.shape[:-1], int(k)), dtype=np.int64)
    for r in range(a.shape[0]):
        line = [v.item() for v in a[r]]
        order = sorted(range(len(line)), key=lambda i: rank_key(line[i], i, opts.largest))
        indices[r] = order[: int(k)]
        values[r] = a[r][indices[r]]
    return np.moveaxis(values, -1, axis), np.moveaxis(indices, -1, axis)


def rank_order(values: np.ndarray, largest: bool) -> np.ndarray:
    """The permutation putting each line (last axis) in rank order, best first: NaN largest,
    -0.0 tied with 0.0, equal values kept in their order."""
    nan = np.isnan(values)
    key = np.where(nan, 0.0, -values if largest else values)
    return np.lexsort((key, ~nan if largest else nan), axis=-1)


@dataclass(frozen=True)
class TopkMatch(Comparator):
    """Values exactly (NaN where the oracle has NaN, -0.0 equal to 0.0); in rank order when
    sorted, else as a multiset per line. Indices: in range, distinct, pointing at the values
    returned; equal to the oracle's (as a set when unsorted) under stable_lower_index."""

    def tolerance(self, case: Case) -> Tolerance:
        return Tolerance(0.0, 0.0, "selected values are copies: compared exactly")

    def expected_dtype(self, case: Case) -> str | None:
        return None

    def dtypes(self, case: Case, outputs: Any) -> dict[str, str | None]:
        return {"values": case.dtype, "indices": "int64"}

    def __call__(
        self, actual: Any, expected: Any, inputs: Inputs, case: Case, tol: Tolerance
    ) -> Comparison:
        opts = TopkOptions(**case.options)
        if int(np.asarray(expected[0]).size) == 0:  # shapes were checked before
            return Comparison(True, total=0)
        axis = int(inputs["dim"]) % 2
        x = np.moveaxis(np.asarray(inputs["x"], dtype=np.float64), axis, -1)
        av, ai, ev, ei = (
            np.moveaxis(np.asarray(a), axis, -1) for a in (*actual, *expected)
        )  # fmt: skip
        av, ev = av.astype(np.float64), ev.astype(np.float64)
        total = int(ev.size)
        if total == 0:
            return Comparison(True, total=0)

        def fail(detail: str, bad: np.ndarray) -> Comparison:
            r = int(np.argmax(bad.any(axis=-1)))
            return Comparison(False, f"{detail}; first on line {r}", int(bad.sum()), total,
                              worst_index=(r,), error_ratio=math.inf)  # fmt: skip

        n = x.shape[-1]
        out_of_range = (ai < 0) | (ai >= n)
        if out_of_range.any():
            return fail("indices out of range", out_of_range)
        srt = np.sort(ai, axis=-1)
        dup = np.zeros_like(ai, dtype=bool)
        dup[..., 1:] = srt[..., 1:] == srt[..., :-1]
        if dup.any():
            return fail("an index selected twice", dup)
        picked = np.take_along_axis(x, ai, axis=-1)
        inconsistent = ~((picked == av) | (np.isnan(picked) & np.isnan(av)))
        if inconsistent.any():
            return fail("values are not x at the returned indices", inconsistent)
        if not opts.sorted:  # rank order on both sides, the oracle's already is
            av = np.take_along_axis(av, rank_order(av, opts.largest), axis=-1)
        wrong = ~((av == ev) | (np.isnan(av) & np.isnan(ev)))
        if wrong.any():
            what = "values differ from the top k" + (" (rank order)" if opts.sorted else "")
            return fail(what, wrong)
        if opts.tie_break == "stable_lower_index":
            got, want = (ai, ei) if opts.sorted else (np.sort(ai, -1), np.sort(ei, -1))
            if (got != want).any():
                return fail(
                    "indices differ among tied values (stable_lower_index: the lower index first)",
                    got != want,
                )
        return Comparison(True, total=total)


def make_inputs(case: Case) -> Inputs:
    p, rng = case.params, np.random.default_rng(case.seed)
    R, N, pattern = int(p["R"]), int(p["N"]), p.get("pattern", "random")
    dtype = np.dtype(case.dtype)
    if pattern == "ties":  # a handful of distinct values: ties everywhere, at the k-th too
        x = rng.integers(-3, 4, (R, N)).astype(np.float64)
    elif pattern == "signed_zero":  # -0.0 and 0.0 tie; a few +-1 around them
        zeros = np.where(rng.random((R, N)) < 0.5, -0.0, 0.0)
        x = np.where(rng.random((R, N)) < 0.2, rng.choice([-1.0, 1.0], (R, N)), zeros)
    else:
        x = rng.standard_normal((R, N)) * 100.0
        if dtype.kind in "iu":
            x = np.round(x)
    if pattern == "nan_inf" and x.size:  # NaN ranks largest; +-inf at the ends of the rest
        spots = rng.random((R, N))
        x[spots < 0.05] = np.nan
        x[(spots >= 0.05) & (spots < 0.1)] = np.inf
        x[(spots >= 0.1) & (spots < 0.15)] = -np.inf
    return {"x": x.astype(dtype), "k": int(p["k"]), "dim": int(p.get("dim", -1))}


def cost(case: Case) -> Cost:
    p = case.params
    R, N, k = int(p["R"]), int(p["N"]), int(p["k"])
    b = np.dtype(case.dtype).itemsize
    return Cost(
        flops=float(R * N) * max(1.0, math.log2(k + 1)),  # a heap of k per line
        bytes=float(b * R * N + (b + 8) * R * k),
        items=R,
        item_unit="lines",
    )


UNSORTED, ANY_TIE, SMALLEST = {"sorted": False}, {"tie_break": "unspecified"}, {"largest": False}
CASES = [
    case("random_f32"),
    case("random_f64_smallest", dtype="float64", options=SMALLEST),
    case("unsorted_f32", options=UNSORTED),
    case("unsorted_smallest_f64", dtype="float64", options={**UNSORTED, **SMALLEST}),
    case("dim0_f32", dim=0, R=40, N=6, k=9),
    case("dim_minus2_f64", dtype="float64", dim=-2, R=33, N=4, k=5, options=SMALLEST),
    case("int64_input", dtype="int64", options=SMALLEST),
    case("int32_unsorted", dtype="int32", options=UNSORTED),
    # 3000 entries a line: past a 1024-wide block, k larger than a small heap's guess
    case("multi_block", R=3, N=3000, k=70),
    edge("ties_stable", pattern="ties", k=12),
    edge("ties_stable_smallest_f64", pattern="ties", k=12, dtype="float64", options=SMALLEST),
    edge("ties_stable_unsorted", pattern="ties", k=12, options=UNSORTED),
    edge("ties_unspecified", pattern="ties", k=12, options=ANY_TIE),
    edge("ties_unspecified_unsorted", pattern="ties", k=12, options={**ANY_TIE, **UNSORTED}),
    edge("ties_dim0", pattern="ties", dim=0, R=30, N=5, k=11),
    edge("nan_inf_largest", pattern="nan_inf", N=80, k=15),
    edge("nan_inf_smallest_f64", pattern="nan_inf", N=80, k=15, dtype="float64", options=SMALLEST),
    edge("nan_inf_unsorted", pattern="nan_inf", N=80, k=15, options={**UNSORTED, **ANY_TIE}),
    edge("signed_zero", pattern="signed_zero", k=20),
    edge("k_zero", k=0),
    edge("k_equals_n", k=50),
    edge("k_equals_n_unsorted", k=50, options=UNSORTED),
    edge("k_equals_n_ties_smallest", pattern="ties", k=50, options=SMALLEST),
    edge("one_entry_lines", N=1, k=1),
    # one empty size each, the other nonzero and distinct
    edge("no_lines", R=0),
    edge("empty_lines", N=0, k=0),
]
ERRORS = [
    error("k_exceeds_n", ValueError, r"k=51 exceeds", k=51),
    error("dim_out_of_range", ValueError, r"out of range", dim=2),
    error("dim_below_range", ValueError, r"out of range", dim=-3),
]
# The spec's standard is 4,096 x 32,000 (131 M entries, 0.5 GB float32): seconds a call
# here, so the quick profile times 32 lines of the spec's length 32,000 and k = 50 (the full
# sort of the array-API variant and torch.sort keep it small); tie_break='unspecified' there,
# so the library reference is torch.topk itself. The spec's sizes are in "full".
ANY = {"tie_break": "unspecified"}
BENCH = {
    "smoke": [bench("bench_tiny", R=8, N=1000, k=10, options=ANY)],
    "quick": [bench("bench_lines", R=32, N=32000, k=50, options=ANY)],
    "full": [
        bench("bench_spec_standard", R=4096, N=32000, k=50, options=ANY),
        bench("bench_spec_standard_stable", R=4096, N=32000, k=50),
        bench("bench_large", R=8192, N=128000, k=50, options=ANY),
    ],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    @st.composite
    def draw(d: Any) -> Case:
        R, N = d(st.integers(0, 6)), d(st.integers(0, 40))
        dim = d(st.sampled_from([-2, -1, 0, 1]))
        n = R if dim % 2 == 0 else N
        params = {
            "R": R,
            "N": N,
            "k": d(st.integers(0, n)),
            "dim": dim,
            "seed": d(st.integers(0, 2**31 - 1)),
            "dtype": d(st.sampled_from(["float32", "float64", "int64"])),
            "pattern": d(st.sampled_from(["random", "ties", "nan_inf", "signed_zero"])),
        }
        if params["dtype"] == "int64" and params["pattern"] == "nan_inf":
            params["pattern"] = "random"
        return Case("fuzz", params, d(TopkOptions.strategy(optional=True)), "fuzz")

    return draw()


SUITE = Suite(
    algorithm="topk_gather",
    family="attention-and-layers",
    summary="torch.topk along one axis of a 2-D array -> (values, int64 indices), k largest or "
    "smallest, in rank order or any order, ties by the lower index or unspecified.",
    conventions=(
        "topk(x, k, dim, opts). x (R, N), a real dtype (floats or integers); dim in -2..1 picks "
        "the axis; 0 <= k <= its length n. Outputs values and indices (int64) with x's shape "
        "but k along dim; values have x's dtype and are x at the indices. Rank: larger first "
        "when largest (torch's default), smaller first otherwise; NaN ranks as the largest "
        "value (torch.topk), so it comes first when largest and last otherwise; -0.0 ties "
        "0.0; +-inf are ordinary values. sorted: values in rank order, best first; False: "
        "any order (the same multiset). tie_break 'stable_lower_index': among equal values "
        "the lower index ranks first, so the selected index set (and, sorted, its order) is "
        "unique; 'unspecified': any index of an equal value (torch.topk, np.argpartition), "
        "indices checked only for range, distinctness and pointing at the returned values. "
        "Raises ValueError for x not 2-D, k < 0, k > n, dim outside -2..1; TypeError for a "
        "bool or complex x, a non-int k or dim."
    ),
    args=ARGS,
    options=TopkOptions,
    make_inputs=make_inputs,
    oracle=topk,
    compare=TopkMatch(),
    cost=cost,
    defaults={"seed": 11, "dtype": "float32", "R": 6, "N": 50, "k": 7},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_lines",
    error_base="random_f32",
    outputs=("values", "indices"),
    multi_block={"N": 3000},
    fuzz=fuzz_strategy,
    reference="torch.topk (tie_break='unspecified'); np.argpartition + a stable sort of the k",
    backends=("python", "numpy", "numba", "torch_cpu", "torch_cuda", "cupy", "library"),
)


def sortable_key(x: np.ndarray, largest: bool) -> np.ndarray:
    """An int64 per entry whose ascending order is rank order: the float's bits made monotone
    (NaN canonical, so above +inf; -0.0 folded onto 0.0), negated bitwise when largest."""
    if x.dtype.kind == "f":
        wide = x.astype(np.float64) + 0.0  # -0.0 + 0.0 is 0.0; float32 exactly representable
        wide[np.isnan(wide)] = np.nan
        bits = wide.view(np.int64)
        key = bits ^ ((bits >> 63) & np.int64(0x7FFFFFFFFFFFFFFF))
    else:
        key = x.astype(np.int64)
    return ~key if largest else key


# ---- gather(x, dim, index): the second half of the algorithm --------------------------------

# x: any 3-D real array (its sizes bind nothing: an empty x forces an empty index, so its
# axes are starred); index: int, 3-D, no larger than x on the axes other than dim, any size
# along dim. dim in -3..2.
GATHER_ARGS = Args(
    Arg("x", ("*X",), "real", star=(3, 3)),
    Scalar("dim", "int", low=-3, high=2),
    Arg("index", ("I", "J", "K"), "int"),
)


def gather_check(x: Any, dim: int, index: Any) -> int:
    """The one-line input check of every gather implementation: returns the axis (0..2).
    Reads index's min and max (a must-raise: torch.gather refuses what np.take_along_axis
    would wrap)."""
    GATHER_ARGS.check(x, dim, index)
    axis, xs = int(dim) % 3, np.shape(x)
    ix = np.asarray(index) if isinstance(index, list) else index
    for a in range(3):
        if a != axis and ix.shape[a] > xs[a]:
            raise ValueError(
                f"index has size {ix.shape[a]} > x's {xs[a]} on axis {a} (only dim={dim} "
                "may be larger)"
            )
    if math.prod(ix.shape):
        lo, hi = int(ix.min()), int(ix.max())
        if lo < 0 or hi >= xs[axis]:
            raise ValueError(
                f"gather index out of range: index values must lie in [0, {xs[axis]}) along "
                f"dim={dim}, got {lo}..{hi}"
            )
    return axis


def gather(x: Any, dim: int, index: Any) -> Any:
    """Oracle: element by element, out[i][j][k] = x[index[i][j][k]][j][k] for dim 0 (the
    index replaces the coordinate on dim, the others are kept)."""
    axis = gather_check(x, dim, index)
    x, index = np.asarray(x), np.asarray(index)
    out = np.empty(index.shape, dtype=x.dtype)
    for pos in np.ndindex(*index.shape):
        src = list(pos)
        src[axis] = int(index[pos])
        out[pos] = x[tuple(src)]
    return out


def gather_inputs(case: Case) -> Inputs:
    p, rng = case.params, np.random.default_rng(case.seed)
    xs, ix, dim = tuple(p["x"]), tuple(p["index"]), int(p.get("dim", -1))
    dtype, pattern = np.dtype(case.dtype), p.get("pattern", "random")
    x = rng.standard_normal(xs) * 100.0
    if dtype.kind in "iu":
        x = np.round(x)
    if pattern == "nan_inf" and x.size:  # gathered values are copies: NaN and inf survive
        spots = rng.random(xs)
        x[spots < 0.1], x[(spots >= 0.1) & (spots < 0.2)] = np.nan, -np.inf
    n = xs[dim % 3]
    index = rng.integers(0, max(n, 1), ix)
    if pattern == "repeat":
        index[:] = n // 2  # every output along dim reads one source entry
    elif pattern == "out_high" and index.size:
        index.flat[index.size // 2] = n
    elif pattern == "negative" and index.size:
        index.flat[index.size // 2] = -1
    return {"x": x.astype(dtype), "dim": dim, "index": index.astype(p.get("index_dtype", "int64"))}


def gather_cost(case: Case) -> Cost:
    """One address computation and one copy per index entry: (2b + 8) bytes each."""
    n, b = math.prod(case.params["index"]), np.dtype(case.dtype).itemsize
    return Cost(float(max(n, 1)), float((2 * b + 8) * max(n, 1)), n, "elements")


def _exact(case: Case) -> Tolerance:
    return Tolerance(0.0, 0.0, "gathered values are copies: compared exactly (NaN to NaN)")


# the error base: x (7, 9, 11), index (5, 6, 13): I, J, K distinct, K > x's 11 along dim
GATHER_BASE: dict[str, Any] = {"x": [7, 9, 11], "index": [5, 6, 13], "dim": -1}
GATHER_CASES = [
    case("gather_f32", **GATHER_BASE),
    case("gather_f64_dim0", dtype="float64", x=[12, 5, 6], index=[20, 4, 3], dim=0),
    case("gather_int64_dim1", dtype="int64", x=[4, 10, 6], index=[3, 15, 5], dim=1),
    case("gather_int32_dim_minus3", dtype="int32", x=[9, 4, 5], index=[6, 4, 2], dim=-3),
    case("gather_f32_dim_minus2_int32_index", x=[5, 8, 7], index=[5, 3, 7], dim=-2,
         index_dtype="int32"),
    # 300 index entries a line: past a 256-wide block
    case("gather_multi_block", x=[2, 3, 280], index=[2, 3, 300]),
    edge("gather_index_smaller_on_other_dims", x=[9, 8, 10], index=[2, 3, 4], dim=1),
    edge("gather_same_shape", x=[4, 6, 8], index=[4, 6, 8], dim=2),
    edge("gather_repeated_index", pattern="repeat", **GATHER_BASE),
    edge("gather_nan_inf_copied", pattern="nan_inf", dtype="float64", **GATHER_BASE),
    edge("gather_single_source", x=[3, 5, 1], index=[3, 5, 4]),
    # one empty index size each, the other two nonzero and distinct
    edge("gather_no_i", x=[7, 9, 11], index=[0, 6, 13]),
    edge("gather_no_j", x=[7, 9, 11], index=[5, 0, 13]),
    edge("gather_no_k", x=[7, 9, 11], index=[5, 6, 0]),
    edge("gather_from_empty_dim", x=[7, 9, 0], index=[5, 6, 0]),
]  # fmt: skip
GATHER_ERRORS = [
    error("gather_index_out_of_range", ValueError, r"gather index out of range",
          pattern="out_high", **GATHER_BASE),
    error("gather_negative_index", ValueError, r"gather index out of range",
          pattern="negative", **GATHER_BASE),
    error("gather_from_empty_dim_nonempty_index", ValueError, r"gather index out of range",
          x=[7, 9, 0], index=[5, 6, 2]),
    error("gather_index_larger_on_other_dim", ValueError, r"index has size 10 > x's 9",
          x=[7, 9, 11], index=[5, 10, 13]),
]  # fmt: skip
GATHER_BENCH = {
    "smoke": [bench("gather_bench_tiny", x=[4, 16, 64], index=[4, 16, 32])],
    "quick": [bench("gather_bench_8x128x1024", x=[8, 128, 1024], index=[8, 128, 512])],
    "full": [bench("gather_bench_large", x=[64, 512, 1024], index=[64, 512, 512])],
}


def gather_fuzz() -> Any:
    from hypothesis import strategies as st

    @st.composite
    def draw(d: Any) -> Case:
        xs = [d(st.integers(0, 6)) for _ in range(3)]
        dim = d(st.sampled_from([-3, -2, -1, 0, 1, 2]))
        ix = [d(st.integers(0, s)) for s in xs]
        ix[dim % 3] = d(st.integers(0, 8)) if xs[dim % 3] else 0
        params = {
            "x": xs,
            "index": ix,
            "dim": dim,
            "seed": d(st.integers(0, 2**31 - 1)),
            "dtype": d(st.sampled_from(["float32", "float64", "int64"])),
            "pattern": d(st.sampled_from(["random", "repeat"])),
        }
        return Case("fuzz", params, {}, "fuzz")

    return draw()


GATHER = Suite(
    algorithm="topk_gather.gather",
    family="attention-and-layers",
    summary="torch.gather(x, dim, index) on 3-D arrays: out[i][j][k] = x[index[i][j][k]][j][k] "
    "for dim 0 (likewise for the other dims); the output has index's shape.",
    conventions=(
        "gather(x, dim, index). x 3-D, a real dtype; dim in -3..2; index 3-D integers (int64 "
        "or int32), no larger than x on the two axes other than dim, any size along dim. "
        "out has index's shape and x's dtype; out at a position is x at the same position "
        "with the dim coordinate replaced by index there. Values are copies: NaN, inf and "
        "-0.0 come through unchanged. Every index value must lie in [0, n) for n = x's size "
        "along dim: a negative index is refused as torch.gather does (np.take_along_axis "
        "would wrap it). ValueError: x or index not 3-D, dim outside -3..2, index larger than "
        "x on another axis, 'gather index out of range'; TypeError: a bool or complex x, a "
        "non-integer index, a non-int dim."
    ),
    args=GATHER_ARGS,
    make_inputs=gather_inputs,
    oracle=gather,
    compare=Close(override=_exact),
    cost=gather_cost,
    defaults={"seed": 23, "dtype": "float32"},
    cases=GATHER_CASES,
    errors=GATHER_ERRORS,
    bench=GATHER_BENCH,
    standard="gather_bench_8x128x1024",
    error_base="gather_f32",
    multi_block={"K": 300},
    fuzz=gather_fuzz,
    divergent_inputs={
        name: lambda inputs: 0 in np.shape(inputs["index"])
        for name in ("gather_no_i", "gather_no_j", "gather_no_k", "gather_from_empty_dim")
    },
    reference="torch.gather; np.take_along_axis",
)

SUITES = [SUITE, GATHER]
