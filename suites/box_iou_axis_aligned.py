"""Suite for box_iou_axis_aligned: pairwise IoU of two sets of (x1, y1, x2, y2) boxes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import NOT_INVERTED, Arg, Args
from harness.cases import bench, case, edge, error
from harness.comparators import Close
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


@dataclass(frozen=True)
class IouOptions(Options):
    pixel_inclusive: bool = option(False, True, meaning="+1 on every width and height (VOC)")
    iou_eps: float = option(
        0.0, 1e-6, meaning="constant added to the union", accepts=lambda v: _finite_eps(v)
    )
    zero_union: str = option("zero", "nan", meaning="0/0 gives 0, or NaN (torchvision)")


@dataclass(frozen=True)
class BoxIouOptions(IouOptions):
    """The shared IoU flags (the 3-D suite and the assigners use them too), plus the form."""

    form: str = option(
        "pairwise",
        "paired",
        meaning="every box of boxes_a with every box of boxes_b -> (N, M), or box i with box i "
        "(elementwise, N == M) -> (N,)",
    )


def _finite_eps(v: Any) -> bool:
    return isinstance(v, float) and 0.0 <= v < math.inf


ARGS = Args(
    Arg("boxes_a", ("N", 4), "real", rules=(NOT_INVERTED,)),
    Arg("boxes_b", ("M", 4), "real", rules=(NOT_INVERTED,)),
)


def _form(opts: IouOptions) -> str:
    """The form of BoxIouOptions; other suites' oracles call with the shared IouOptions."""
    return str(getattr(opts, "form", "pairwise"))


def check(boxes_a: Any, boxes_b: Any, opts: IouOptions) -> Any:
    """ARGS.check, and one box of boxes_b per box of boxes_a in the paired form; the dtype."""
    dtype = ARGS.check(boxes_a, boxes_b)
    if _form(opts) == "paired" and len(boxes_a) != len(boxes_b):
        raise ValueError(
            f"boxes_b: form='paired' takes one box per box of boxes_a, got {len(boxes_b)} "
            f"for {len(boxes_a)}"
        )
    return dtype


def box_iou_axis_aligned(boxes_a: Any, boxes_b: Any, opts: IouOptions) -> Any:
    """Oracle: float64, one formula per line, N x M (or N for the paired form)."""
    check(boxes_a, boxes_b, opts)
    a = np.asarray(boxes_a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(boxes_b, dtype=np.float64).reshape(-1, 4)
    if _form(opts) == "pairwise":  # (N, 1, 4) against (1, M, 4); paired: row i against row i
        a, b = a[:, None, :], b[None, :, :]
    one = 1.0 if opts.pixel_inclusive else 0.0
    area_a = (a[..., 2] - a[..., 0] + one) * (a[..., 3] - a[..., 1] + one)
    area_b = (b[..., 2] - b[..., 0] + one) * (b[..., 3] - b[..., 1] + one)
    iw = np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    ih = np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
    inter = np.clip(iw + one, 0, None) * np.clip(ih + one, 0, None)
    union = area_a + area_b - inter + opts.iou_eps
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = inter / union
    if opts.zero_union == "zero":
        iou = np.where(union == 0, 0.0, iou)
    return iou


def random_boxes(
    rng: np.random.Generator,
    n: int,
    extent: float = 100.0,
    size: float = 20.0,
    min_size: float = 0.5,
) -> np.ndarray:
    xy = rng.uniform(0, extent, size=(n, 2))
    wh = rng.uniform(min_size, size, size=(n, 2))
    return np.concatenate([xy, xy + wh], axis=1)


def make_inputs(case: Case) -> Inputs:
    p = case.params
    rng = np.random.default_rng(case.seed)
    dtype = np.dtype(case.dtype)
    pattern = p.get("pattern", "random")
    n, m = int(p.get("n", 0)), int(p.get("m", 0))
    extent, size = p.get("extent", 100.0), p.get("size", 20.0)
    a, b = random_boxes(rng, n, extent, size), random_boxes(rng, m, extent, size)
    if pattern == "identical":
        b = a.copy()
    elif pattern == "touching":  # b sits exactly right of a: 0 continuous, > 0 inclusive
        b = a.copy()
        width = a[:, 2] - a[:, 0]
        b[:, 0] += width
        b[:, 2] += width
    elif pattern == "degenerate":  # zero-area points and lines mixed with normal boxes
        a[::2, 2] = a[::2, 0]
        a[1::3, 3] = a[1::3, 1]
        b[::2] = np.tile(b[::2, :2], 2)
    elif pattern == "containment":
        wh = a[:, 2:] - a[:, :2]
        b = np.concatenate([a[:, :2] + 0.1 * wh, a[:, 2:] - 0.2 * wh], axis=1)
    elif pattern == "nonfinite":
        a[0, 2] = np.inf
        b[1 % max(m, 1), 0] = np.nan
    elif pattern == "far":  # large coordinates: at 2e7 float32 spacing is 2, so x2 + 1 is
        a += p.get("offset", 1e6)  # lost unless widths are taken before the +1
        b += p.get("offset", 1e6)
    elif pattern == "large_int":  # int32 sides >= 46,341 after truncation: w * h > 2**31
        a, b = (random_boxes(rng, k, 2e5, 1.5e5, min_size=46_341.0) for k in (n, m))
    return {"boxes_a": a.astype(dtype), "boxes_b": b.astype(dtype)}


def cost(case: Case) -> Cost:
    n, m = int(case.params.get("n", 0)), int(case.params.get("m", 0))
    b = np.dtype(case.dtype).itemsize
    pairs = n if BoxIouOptions.build(case.options).form == "paired" else n * m
    return Cost(
        flops=12.0 * pairs, bytes=4.0 * b * (n + m) + b * pairs, items=pairs, item_unit="pairs"
    )


PAIRED = {"form": "paired"}

CASES = [
    case("random_f32", n=64, m=48),
    case("random_f64", n=64, m=48, dtype="float64"),
    case("inclusive_f64", n=40, m=30, dtype="float64", options={"pixel_inclusive": True}),
    case("eps_small_f64", n=20, m=20, dtype="float64", extent=3.0, options={"iou_eps": 1e-6}),
    case(
        "nan_union_f64",
        n=6,
        m=6,
        dtype="float64",
        pattern="degenerate",
        options={"zero_union": "nan"},
    ),
    # several hundred boxes a side: past the first block of any tiled or threaded kernel
    case("multi_block", n=300, m=280),
    edge("empty_a", n=0, m=5),
    edge("empty_b", n=3, m=0),
    edge("empty_both", n=0, m=0),
    edge("identical", n=30, m=30, pattern="identical"),
    edge("touching", n=20, m=20, pattern="touching", dtype="float64"),
    edge(
        "touching_inclusive",
        n=20,
        m=20,
        pattern="touching",
        dtype="float64",
        options={"pixel_inclusive": True},
    ),
    edge("degenerate_zero_area", n=12, m=9, pattern="degenerate"),
    edge("containment", n=25, m=25, pattern="containment"),
    edge("nonfinite", n=6, m=6, pattern="nonfinite", dtype="float64", extent=15.0),
    edge("far_coordinates_f64", n=16, m=16, pattern="far", dtype="float64"),
    edge("far_coordinates_f32", n=24, m=24, pattern="far", offset=2e7, extent=200.0, size=60.0),
    edge(
        "far_coordinates_f32_inclusive",
        n=24,
        m=24,
        pattern="far",
        offset=2e7,
        extent=200.0,
        size=60.0,
        options={"pixel_inclusive": True},
    ),
    edge("int32_area_overflow", n=20, m=20, pattern="large_int", dtype="int32"),
    case("int32_inclusive", n=30, m=30, dtype="int32", options={"pixel_inclusive": True}),
    case("paired_f32", n=500, m=500, options=PAIRED),
    case("paired_f64", n=500, m=500, dtype="float64", options=PAIRED),
    case(
        "paired_inclusive_int32",
        n=60,
        m=60,
        dtype="int32",
        options={**PAIRED, "pixel_inclusive": True},
    ),
    edge("paired_empty", n=0, m=0, options=PAIRED),
    edge("paired_identical", n=30, m=30, pattern="identical", options=PAIRED),
    edge("paired_touching_f64", n=20, m=20, pattern="touching", dtype="float64", options=PAIRED),
    edge(
        "paired_nan_union_f64",
        n=12,
        m=12,
        pattern="degenerate",
        dtype="float64",
        options={**PAIRED, "zero_union": "nan"},
    ),
]

ERRORS = [error("paired_lengths_differ", ValueError, "boxes_b", n=6, m=5, options=PAIRED)]

BENCH = {
    "smoke": [bench("bench_200", n=200, m=200)],
    "quick": [bench("bench_1000", n=1000, m=1000), bench("bench_2000", n=2000, m=2000)],
    "full": [bench("bench_10000", n=10000, m=10000)],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    # int32 truncates the random boxes to a coarse grid: ties, shared edges, zero sides.
    # n >= 1: plain lists cannot express shape (0, M) (empty_a covers N = 0, with xfail);
    # m draws 0 now and then (hypothesis favours the ends of a range).
    options = st.fixed_dictionaries(
        {},
        optional={
            "pixel_inclusive": st.booleans(),
            "zero_union": st.sampled_from(IouOptions.flag("zero_union").values),
            "iou_eps": st.sampled_from(IouOptions.flag("iou_eps").values),
            "form": st.sampled_from(BoxIouOptions.flag("form").values),
        },
    )

    def build(n: int, m: int, seed: int, dtype: str, pattern: str, options: Any) -> Case:
        m = n if options.get("form") == "paired" else m  # the paired form takes N == M
        params = dict(n=n, m=m, seed=seed, dtype=dtype, pattern=pattern)
        return Case("fuzz", params, options, "fuzz")

    return st.builds(
        build,
        st.integers(1, 40),
        st.integers(0, 40),
        st.integers(0, 2**31 - 1),
        st.sampled_from(["float32", "float64", "int32"]),
        st.sampled_from(["random", "identical", "touching", "degenerate", "containment", "far"]),
        options,
    )


def _reduction(case: Case) -> int:
    # Each IoU is a handful of roundings (no long reduction). A float32 width near a corner
    # carries an error ~eps x coordinate, so atol (= rtol, IoU <= 1) is the bound that bites.
    return 4


class IouClose(Close):
    """Close on the promoted dtype: integer boxes give a float64 IoU (the spec) and are held
    to the float64 tolerance instead of being compared exactly."""

    def tolerance(self, case: Case) -> Tolerance:
        return super().tolerance(_promoted(case))

    def expected_dtype(self, case: Case) -> str | None:
        return _promoted(case).dtype


def _promoted(case: Case) -> Case:
    if np.dtype(case.dtype).kind == "f":
        return case
    return Case(case.name, {**case.params, "dtype": "float64"}, case.options, case.kind)


def _infinite_side(inputs: Inputs) -> bool:
    """A box with an infinite coordinate: GEOS measures its area as NaN."""
    return any(np.isinf(np.asarray(inputs[k], dtype=np.float64)).any() for k in inputs)


SUITE = Suite(
    algorithm="box_iou_axis_aligned",
    family="detection-geometry",
    summary="IoU of every box in boxes_a (N, 4) with every box in boxes_b (M, 4) -> (N, M).",
    conventions=(
        "Boxes are (x1, y1, x2, y2) with x2 >= x1, y2 >= y1; inverted boxes raise ValueError. "
        "pixel_inclusive=True adds 1 to every width and height (VOC). iou_eps is added to the "
        "union. zero_union='zero' returns 0 where the union is 0, 'nan' returns 0/0. "
        "Output dtype equals the float input dtype; integer boxes are promoted to float64 "
        "first (no int32 area overflow). NaN and inf coordinates propagate. boxes_a and boxes_b "
        "are independent (N and M may differ or be 0). form='paired' gives IoU(a_i, b_i), shape "
        "(N,), and needs N == M (else ValueError naming boxes_b). Must raise: ValueError for "
        "a shape other than (K, 4), TypeError for a non-numeric dtype (bool)."
    ),
    args=ARGS,
    options=BoxIouOptions,
    make_inputs=make_inputs,
    oracle=box_iou_axis_aligned,
    compare=IouClose(reduction=_reduction),
    cost=cost,
    defaults={"seed": 7, "dtype": "float32"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_2000",
    multi_block={"N": 300, "M": 280},
    fuzz=fuzz_strategy,
    divergent_inputs={"nonfinite": _infinite_side},
    reference="shapely box intersection (continuous); torchvision box_iou semantics",
)
