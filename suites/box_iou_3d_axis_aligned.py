"""Suite for box_iou_3d_axis_aligned: pairwise IoU of (x1, y1, z1, x2, y2, z2) boxes."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.args import Arg, Args, Rule
from harness.cases import bench, case, edge
from harness.spec import Case, Cost, Inputs, Suite
from suites.box_iou_axis_aligned import IouClose
from suites.box_iou_axis_aligned import IouOptions as IouOptions  # 2-D flags, same meaning


def _swap_corner(boxes: np.ndarray) -> np.ndarray:
    out = np.array(boxes, copy=True)
    out[0, 5] = out[0, 2] - 1.0  # z2 < z1
    return out


NOT_INVERTED_3D = Rule(
    "x2 >= x1, y2 >= y1 and z2 >= z1 (boxes are x1, y1, z1, x2, y2, z2)",
    lambda xp, b: (b[..., 3] < b[..., 0]) | (b[..., 4] < b[..., 1]) | (b[..., 5] < b[..., 2]),
    _swap_corner,
)

ARGS = Args(
    Arg("boxes_a", ("N", 6), "real", rules=(NOT_INVERTED_3D,)),
    Arg("boxes_b", ("M", 6), "real", rules=(NOT_INVERTED_3D,)),
)


def box_iou_3d_axis_aligned(boxes_a: Any, boxes_b: Any, opts: IouOptions) -> Any:
    """Oracle: float64, the product of three clamped 1-D overlaps over the volumes, N x M."""
    ARGS.check(boxes_a, boxes_b)
    a = np.asarray(boxes_a, dtype=np.float64)
    b = np.asarray(boxes_b, dtype=np.float64)
    one = 1.0 if opts.pixel_inclusive else 0.0
    vol_a = np.prod(a[:, 3:] - a[:, :3] + one, axis=1)
    vol_b = np.prod(b[:, 3:] - b[:, :3] + one, axis=1)
    inter = np.ones((a.shape[0], b.shape[0]))
    for k in range(3):  # each axis clamped on its own: two negative overlaps must not multiply
        hi = np.minimum(a[:, None, k + 3], b[None, :, k + 3])
        lo = np.maximum(a[:, None, k], b[None, :, k])
        inter = inter * np.clip(hi - lo + one, 0, None)
    union = vol_a[:, None] + vol_b[None, :] - inter + opts.iou_eps
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = inter / union
    if opts.zero_union == "zero":
        iou = np.where(union == 0, 0.0, iou)
    return iou


def random_boxes_3d(
    rng: np.random.Generator,
    n: int,
    extent: float = 60.0,
    size: float = 25.0,
    min_size: float = 0.5,
) -> np.ndarray:
    xyz = rng.uniform(0, extent, size=(n, 3))
    return np.concatenate([xyz, xyz + rng.uniform(min_size, size, size=(n, 3))], axis=1)


def make_inputs(case: Case) -> Inputs:
    p = case.params
    rng = np.random.default_rng(case.seed)
    dtype = np.dtype(case.dtype)
    pattern = p.get("pattern", "random")
    n, m = int(p.get("n", 0)), int(p.get("m", 0))
    extent, size = p.get("extent", 60.0), p.get("size", 25.0)
    a, b = random_boxes_3d(rng, n, extent, size), random_boxes_3d(rng, m, extent, size)
    k = min(n, m)
    if pattern == "identical":
        b[:k] = a[:k]
    elif pattern == "touching":  # b[i] sits exactly above a[i] in z: 0 continuous
        b[:k] = a[:k]
        depth = a[:k, 5] - a[:k, 2]
        b[:k, 2] += depth
        b[:k, 5] += depth
    elif pattern == "apart_two_axes":  # b[i] off a[i] in x and y: both overlaps negative
        b[:k] = a[:k] + np.array([40.0, 40.0, 0.0, 40.0, 40.0, 0.0])
    elif pattern == "zero_thickness":  # flat boxes (z2 = z1) and points, some on each other
        a[::2, 5] = a[::2, 2]
        b[::2, 3:] = b[::2, :3]
        b[1:k:4] = a[1:k:4]
    elif pattern == "containment":
        side = a[:k, 3:] - a[:k, :3]
        b[:k] = np.concatenate([a[:k, :3] + 0.1 * side, a[:k, 3:] - 0.3 * side], axis=1)
    elif pattern == "large_int":  # int32 sides >= 1,291: w h d > 2**31 in int32
        a, b = (random_boxes_3d(rng, q, 2000.0, 1600.0, min_size=1291.0) for q in (n, m))
    return {"boxes_a": a.astype(dtype), "boxes_b": b.astype(dtype)}


def cost(case: Case) -> Cost:
    n, m = int(case.params.get("n", 0)), int(case.params.get("m", 0))
    b = np.dtype(case.dtype).itemsize
    return Cost(18.0 * n * m, 6.0 * b * (n + m) + b * n * m, n * m, "pairs")


CASES = [
    case("random_f32", n=64, m=48),
    case("random_f64", n=64, m=48, dtype="float64"),
    case("inclusive_f64", n=40, m=30, dtype="float64", options={"pixel_inclusive": True}),
    case(
        "eps_small_f64",
        n=20,
        m=24,
        dtype="float64",
        extent=3.0,
        size=2.0,
        options={"iou_eps": 1e-6},
    ),
    case(
        "nan_union_f64",
        n=8,
        m=12,
        dtype="float64",
        pattern="zero_thickness",
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
    edge("apart_in_two_axes", n=20, m=20, pattern="apart_two_axes", dtype="float64"),
    edge("zero_thickness", n=12, m=9, pattern="zero_thickness"),
    edge("containment", n=25, m=25, pattern="containment"),
    edge("int32_volume_overflow", n=20, m=20, pattern="large_int", dtype="int32"),
    case("int32_inclusive", n=30, m=30, dtype="int32", options={"pixel_inclusive": True}),
]

BENCH = {
    "smoke": [bench("bench_200", n=200, m=200)],
    "quick": [bench("bench_2000", n=2000, m=2000)],
    "full": [bench("bench_10000", n=10000, m=10000)],
}


PATTERNS = ["random", "identical", "touching", "apart_two_axes", "zero_thickness", "containment"]


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    return st.builds(
        lambda n, m, seed, dtype, pattern, options: Case(
            "fuzz", dict(n=n, m=m, seed=seed, dtype=dtype, pattern=pattern), options, "fuzz"
        ),
        st.integers(1, 40),
        st.integers(0, 40),
        st.integers(0, 2**31 - 1),
        st.sampled_from(["float32", "float64", "int32"]),
        st.sampled_from(PATTERNS),
        IouOptions.strategy(optional=True),
    )


SUITE = Suite(
    algorithm="box_iou_3d_axis_aligned",
    family="detection-geometry",
    summary="IoU of every 3-D box in boxes_a (N, 6) with every one in boxes_b (M, 6) -> (N, M).",
    conventions=(
        "Boxes are (x1, y1, z1, x2, y2, z2) with x2 >= x1, y2 >= y1, z2 >= z1; inverted boxes "
        "raise ValueError. The intersection is the product of the three 1-D overlaps, each "
        "clamped at 0 on its own. pixel_inclusive=True adds 1 to every side (voxels). "
        "iou_eps is added to the union. zero_union='zero' returns 0 where the union is 0, "
        "'nan' returns 0/0. Output dtype equals the float input dtype; integer boxes are "
        "promoted to float64 first (no int32 volume overflow, which starts at sides of "
        "1,291). Touching boxes give 0 (continuous). Must raise: ValueError for a shape "
        "other than (K, 6), TypeError for a non-numeric dtype (bool)."
    ),
    args=ARGS,
    options=IouOptions,
    make_inputs=make_inputs,
    oracle=box_iou_3d_axis_aligned,
    # each IoU is a handful of roundings (three overlaps, two volumes): no long reduction
    compare=IouClose(reduction=lambda case: 6),
    cost=cost,
    defaults={"seed": 13, "dtype": "float32"},
    cases=CASES,
    bench=BENCH,
    standard="bench_2000",
    multi_block={"N": 300, "M": 280},
    fuzz=fuzz_strategy,
    reference="shapely footprint intersection x z-overlap (continuous)",
)
