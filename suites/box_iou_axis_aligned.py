"""Suite for box_iou_axis_aligned: pairwise IoU of two sets of (x1, y1, x2, y2) boxes."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.compare import Close
from harness.spec import Case, Cost, ErrorCase, Inputs, Suite, Tolerance

OPTIONS = {
    "pixel_inclusive": (False, True),  # False: w = x2 - x1 (torchvision, COCO); True: +1 (VOC)
    "iou_eps": (0.0, 1e-6),  # constant added to the union
    "zero_union": ("zero", "nan"),  # 0/0 gives 0 (default) or NaN (torchvision)
}


def box_iou_axis_aligned(
    boxes_a: Any,
    boxes_b: Any,
    *,
    pixel_inclusive: bool = False,
    iou_eps: float = 0.0,
    zero_union: str = "zero",
) -> Any:
    """Oracle: float64, one formula per line, N x M."""
    validate_options(pixel_inclusive, iou_eps, zero_union)
    validate_boxes(boxes_a, "boxes_a")
    validate_boxes(boxes_b, "boxes_b")
    a = np.asarray(boxes_a, dtype=np.float64)
    b = np.asarray(boxes_b, dtype=np.float64)
    one = 1.0 if pixel_inclusive else 0.0
    area_a = (a[:, 2] - a[:, 0] + one) * (a[:, 3] - a[:, 1] + one)
    area_b = (b[:, 2] - b[:, 0] + one) * (b[:, 3] - b[:, 1] + one)
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(iw + one, 0, None) * np.clip(ih + one, 0, None)
    union = area_a[:, None] + area_b[None, :] - inter + iou_eps
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = inter / union
    if zero_union == "zero":
        iou = np.where(union == 0, 0.0, iou)
    return iou


def validate_options(pixel_inclusive: Any, iou_eps: Any, zero_union: Any) -> None:
    """Flag values outside the documented ones raise instead of running a guess."""
    if not isinstance(pixel_inclusive, bool):
        raise ValueError(f"pixel_inclusive must be True or False, got {pixel_inclusive!r}")
    if not isinstance(iou_eps, float | int) or not 0 <= iou_eps < float("inf"):
        raise ValueError(f"iou_eps must be a finite number >= 0, got {iou_eps!r}")
    if zero_union not in ("zero", "nan"):
        raise ValueError(f"zero_union must be 'zero' or 'nan', got {zero_union!r}")


def output_dtype(
    boxes_a: Any, boxes_b: Any, pixel_inclusive: Any, iou_eps: Any, zero_union: Any
) -> np.dtype[Any]:
    """Validate flags and both box sets; return the dtype of the result.

    Float inputs keep their dtype; integer coordinates are promoted to float64 (no area
    overflow).
    """
    validate_options(pixel_inclusive, iou_eps, zero_union)
    validate_boxes(boxes_a, "boxes_a")
    validate_boxes(boxes_b, "boxes_b")
    dtype = np.result_type(boxes_a, boxes_b)
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


def validate_boxes(boxes: Any, name: str) -> None:
    """The shared input contract: (K, 4) with x2 >= x1 and y2 >= y1 (NaN passes through)."""
    arr = np.asarray(boxes)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must have a real numeric dtype, got {arr.dtype}")
    if arr.ndim != 2 or arr.shape[-1] != 4:
        raise ValueError(f"{name} must have shape (K, 4), got {arr.shape}")
    with np.errstate(invalid="ignore"):
        inverted = (arr[:, 2] < arr[:, 0]) | (arr[:, 3] < arr[:, 1])
    if np.any(inverted):
        raise ValueError(
            f"{name} has inverted boxes (x2 < x1 or y2 < y1) at rows "
            f"{np.flatnonzero(inverted)[:5].tolist()}"
        )


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
    elif pattern == "inverted":
        a[0, [0, 2]] = a[0, [2, 0]] + np.array([0.0, -1.0]) + 5.0
    elif pattern == "bad_shape":
        a = a[:, :3]
    elif pattern == "bad_ndim":
        a = a[None]
    elif pattern == "single_box_b":  # a lone (4,) box instead of (1, 4)
        b = b[0]
    return {"boxes_a": a.astype(dtype), "boxes_b": b.astype(dtype)}


def cost(case: Case) -> Cost:
    n, m = int(case.params.get("n", 0)), int(case.params.get("m", 0))
    b = np.dtype(case.dtype).itemsize
    return Cost(
        flops=12.0 * n * m, bytes=4.0 * b * (n + m) + b * n * m, items=n * m, item_unit="pairs"
    )


def _case(
    name: str, kind: str = "regular", options: dict[str, Any] | None = None, **params: Any
) -> Case:
    params.setdefault("seed", 7)
    params.setdefault("dtype", "float32")
    return Case(name, params, options or {}, kind)


CASES = [
    _case("random_f32", n=64, m=48),
    _case("random_f64", n=64, m=48, dtype="float64"),
    _case("inclusive_f64", n=40, m=30, dtype="float64", options={"pixel_inclusive": True}),
    _case("eps_small_f64", n=20, m=20, dtype="float64", extent=3.0, options={"iou_eps": 1e-6}),
    _case(
        "nan_union_f64",
        n=6,
        m=6,
        dtype="float64",
        pattern="degenerate",
        options={"zero_union": "nan"},
    ),
    _case("empty_a", "edge", n=0, m=5),
    _case("empty_both", "edge", n=0, m=0),
    _case("identical", "edge", n=30, m=30, pattern="identical"),
    _case("touching", "edge", n=20, m=20, pattern="touching", dtype="float64"),
    _case(
        "touching_inclusive",
        "edge",
        n=20,
        m=20,
        pattern="touching",
        dtype="float64",
        options={"pixel_inclusive": True},
    ),
    _case("degenerate_zero_area", "edge", n=12, m=9, pattern="degenerate"),
    _case("containment", "edge", n=25, m=25, pattern="containment"),
    _case("nonfinite", "edge", n=6, m=6, pattern="nonfinite", dtype="float64", extent=15.0),
    _case("far_coordinates_f64", "edge", n=16, m=16, pattern="far", dtype="float64"),
    _case(
        "far_coordinates_f32",
        "edge",
        n=24,
        m=24,
        pattern="far",
        offset=2e7,
        extent=200.0,
        size=60.0,
    ),
    _case(
        "far_coordinates_f32_inclusive",
        "edge",
        n=24,
        m=24,
        pattern="far",
        offset=2e7,
        extent=200.0,
        size=60.0,
        options={"pixel_inclusive": True},
    ),
    _case("int32_area_overflow", "edge", n=20, m=20, pattern="large_int", dtype="int32"),
    _case("int32_inclusive", n=30, m=30, dtype="int32", options={"pixel_inclusive": True}),
]


def _error(name: str, expected: type[BaseException], match: str, **params: Any) -> ErrorCase:
    return ErrorCase(
        name, {"n": 3, "m": 3, "seed": 1, "dtype": "float32", **params}, (expected,), match
    )


ERRORS = [
    _error("inverted_boxes", ValueError, "inverted", pattern="inverted"),
    _error("wrong_trailing_dim", ValueError, r"boxes_a.*\(K, 4\)", pattern="bad_shape"),
    _error("wrong_ndim", ValueError, r"boxes_a.*\(K, 4\)", pattern="bad_ndim"),
    _error("single_box_b", ValueError, r"boxes_b.*\(K, 4\)", pattern="single_box_b"),
    _error("bool_boxes", TypeError, r"boxes_a.*numeric dtype", dtype="bool"),
]

BENCH = {
    "smoke": [_case("bench_200", "bench", n=200, m=200)],
    "quick": [
        _case("bench_1000", "bench", n=1000, m=1000),
        _case("bench_2000", "bench", n=2000, m=2000),
    ],
    "full": [_case("bench_10000", "bench", n=10000, m=10000)],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    # int32 truncates the random boxes to a coarse grid: ties, shared edges, zero sides.
    # n >= 1: plain lists cannot express shape (0, M) (empty_a covers N = 0, with xfail).
    options = st.fixed_dictionaries(
        {},
        optional={
            "pixel_inclusive": st.booleans(),
            "zero_union": st.sampled_from(OPTIONS["zero_union"]),
            "iou_eps": st.sampled_from(OPTIONS["iou_eps"]),
        },
    )
    return st.builds(
        lambda n, m, seed, dtype, pattern, options: _case(
            "fuzz", "fuzz", options, n=n, m=m, seed=seed, dtype=dtype, pattern=pattern
        ),
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
        "are independent (N and M may differ or be 0). Must raise: ValueError for a shape other "
        "than (K, 4) or an unknown flag value, TypeError for a non-numeric dtype (bool)."
    ),
    make_inputs=make_inputs,
    oracle=box_iou_axis_aligned,
    compare=IouClose(reduction=_reduction),
    cost=cost,
    cases=CASES,
    error_cases=ERRORS,
    bench=BENCH,
    standard="bench_2000",
    options=OPTIONS,
    fuzz=fuzz_strategy,
    reference="shapely box intersection (continuous); torchvision box_iou semantics",
)
