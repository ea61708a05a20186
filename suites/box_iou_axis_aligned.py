"""Suite for box_iou_axis_aligned: pairwise IoU of two sets of (x1, y1, x2, y2) boxes."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.compare import Close
from harness.spec import Case, Cost, ErrorCase, Inputs, Suite

OPTIONS = {
    "pixel_inclusive": (False, True),  # False: w = x2 - x1 (torchvision, COCO); True: +1 (VOC)
    "iou_eps": (0.0, 1e-6),            # constant added to the union
    "zero_union": ("zero", "nan"),     # 0/0 gives 0 (default) or NaN (torchvision)
}


def box_iou_axis_aligned(boxes_a: Any, boxes_b: Any, *, pixel_inclusive: bool = False,
                         iou_eps: float = 0.0, zero_union: str = "zero") -> Any:
    """Oracle: float64, one formula per line, N x M."""
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


def validate_boxes(boxes: Any, name: str) -> None:
    """The shared input contract: (K, 4) with x2 >= x1 and y2 >= y1 (NaN passes through)."""
    arr = np.asarray(boxes)
    if arr.ndim != 2 or arr.shape[-1] != 4:
        raise ValueError(f"{name} must have shape (K, 4), got {arr.shape}")
    with np.errstate(invalid="ignore"):
        inverted = (arr[:, 2] < arr[:, 0]) | (arr[:, 3] < arr[:, 1])
    if np.any(inverted):
        raise ValueError(f"{name} has inverted boxes (x2 < x1 or y2 < y1) at rows "
                         f"{np.flatnonzero(inverted)[:5].tolist()}")


def random_boxes(rng: np.random.Generator, n: int, extent: float = 100.0,
                 size: float = 20.0) -> np.ndarray:
    xy = rng.uniform(0, extent, size=(n, 2))
    wh = rng.uniform(0.5, size, size=(n, 2))
    return np.concatenate([xy, xy + wh], axis=1)


def make_inputs(case: Case) -> Inputs:
    p = case.params
    rng = np.random.default_rng(case.seed)
    dtype = np.dtype(case.dtype)
    pattern = p.get("pattern", "random")
    n, m = int(p.get("n", 0)), int(p.get("m", 0))
    a = random_boxes(rng, n, p.get("extent", 100.0))
    b = random_boxes(rng, m, p.get("extent", 100.0))
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
    elif pattern == "far":  # large coordinates: the +1 of pixel_inclusive is near ulp
        a += 1e6
        b += 1e6
    elif pattern == "inverted":
        a[0, [0, 2]] = a[0, [2, 0]] + np.array([0.0, -1.0]) + 5.0
    elif pattern == "bad_shape":
        a = a[:, :3]
    return {"boxes_a": a.astype(dtype), "boxes_b": b.astype(dtype)}


def cost(case: Case) -> Cost:
    n, m = int(case.params.get("n", 0)), int(case.params.get("m", 0))
    b = np.dtype(case.dtype).itemsize
    return Cost(flops=12.0 * n * m, bytes=4.0 * b * (n + m) + b * n * m, items=n * m,
                item_unit="pairs")


def _case(name: str, kind: str = "regular", options: dict[str, Any] | None = None,
          **params: Any) -> Case:
    params.setdefault("seed", 7)
    params.setdefault("dtype", "float32")
    return Case(name, params, options or {}, kind)


CASES = [
    _case("random_f32", n=64, m=48),
    _case("random_f64", n=64, m=48, dtype="float64"),
    _case("inclusive_f64", n=40, m=30, dtype="float64", options={"pixel_inclusive": True}),
    _case("eps_small_f64", n=20, m=20, dtype="float64", extent=3.0,
          options={"iou_eps": 1e-6}),
    _case("nan_union_f64", n=6, m=6, dtype="float64", pattern="degenerate",
          options={"zero_union": "nan"}),
    _case("empty_a", "edge", n=0, m=5),
    _case("empty_both", "edge", n=0, m=0),
    _case("identical", "edge", n=30, m=30, pattern="identical"),
    _case("touching", "edge", n=20, m=20, pattern="touching", dtype="float64"),
    _case("touching_inclusive", "edge", n=20, m=20, pattern="touching", dtype="float64",
          options={"pixel_inclusive": True}),
    _case("degenerate_zero_area", "edge", n=12, m=9, pattern="degenerate"),
    _case("containment", "edge", n=25, m=25, pattern="containment"),
    _case("nonfinite", "edge", n=4, m=4, pattern="nonfinite", dtype="float64"),
    _case("far_coordinates_f64", "edge", n=16, m=16, pattern="far", dtype="float64"),
]

ERRORS = [
    ErrorCase("inverted_boxes", {"n": 3, "m": 3, "pattern": "inverted", "seed": 1,
                                 "dtype": "float32"}, (ValueError,), "inverted"),
    ErrorCase("wrong_trailing_dim", {"n": 3, "m": 3, "pattern": "bad_shape", "seed": 1,
                                     "dtype": "float32"}, (ValueError,), r"boxes_a.*\(K, 4\)"),
]

BENCH = {
    "smoke": [_case("bench_200", "bench", n=200, m=200)],
    "quick": [_case("bench_1000", "bench", n=1000, m=1000),
              _case("bench_2000", "bench", n=2000, m=2000)],
    "full": [_case("bench_10000", "bench", n=10000, m=10000)],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    return st.builds(
        lambda n, m, seed, dtype, pattern, inclusive: _case(
            "fuzz", "fuzz", n=n, m=m, seed=seed, dtype=dtype, pattern=pattern,
            options={"pixel_inclusive": inclusive} if inclusive else {}),
        st.integers(0, 40), st.integers(1, 40), st.integers(0, 2**31 - 1),
        st.sampled_from(["float32", "float64"]),
        st.sampled_from(["random", "identical", "touching", "degenerate", "containment"]),
        st.booleans(),
    )


def _reduction(case: Case) -> int:
    return 4  # each IoU is a handful of operations: no long reduction


SUITE = Suite(
    algorithm="box_iou_axis_aligned",
    family="detection-geometry",
    summary="IoU of every box in boxes_a (N, 4) with every box in boxes_b (M, 4) -> (N, M).",
    conventions=(
        "Boxes are (x1, y1, x2, y2) with x2 >= x1, y2 >= y1; inverted boxes raise ValueError. "
        "pixel_inclusive=True adds 1 to every width and height (VOC). iou_eps is added to the "
        "union. zero_union='zero' returns 0 where the union is 0, 'nan' returns 0/0. "
        "Output dtype equals the input dtype; NaN and inf coordinates propagate."
    ),
    make_inputs=make_inputs,
    oracle=box_iou_axis_aligned,
    compare=Close(reduction=_reduction),
    cost=cost,
    cases=CASES,
    error_cases=ERRORS,
    bench=BENCH,
    options=OPTIONS,
    fuzz=fuzz_strategy,
    reference="shapely box intersection (continuous); torchvision box_iou semantics",
)
