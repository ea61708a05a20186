"""Suite for centernet_gaussian_heatmap: CenterNet's training targets - a Gaussian per object
on its class's heatmap (merged by max), plus size, sub-pixel offset, index and mask."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, Scalar
from harness.cases import bench, case, edge, error
from harness.comparators import Close, Outputs
from harness.comparators.base import EPS
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


@dataclass(frozen=True)
class HeatmapOptions(Options):
    radius_formula: str = option(
        "reference",
        "exact",
        meaning="CornerNet's code: r = (b + sqrt(b^2 - 4ac))/2 per case; or the roots of the "
        "three quadratics, (b - sqrt)/(2a), (b - sqrt)/(2a), (-b + sqrt)/(2a) (mmdet)",
    )


ARGS = Args(
    Arg("boxes", ("B", "M", 4), "float"),
    Arg("labels", ("B", "M"), "int"),
    Scalar("num_classes", "int", low=1),
    Scalar("height", "int", low=1),
    Scalar("width", "int", low=1),
    Scalar("min_overlap", low=0.0, high=1.0),
)


def check_inputs(boxes: Any, labels: Any, c: int, h: int, w: int, overlap: float) -> Any:
    """ARGS.check, 0 < min_overlap < 1, labels in [-1, C) (-1: no object), sizes >= 0."""
    dtype = ARGS.check(boxes, labels, c, h, w, overlap)
    if not 0.0 < float(overlap) < 1.0:
        raise ValueError(f"min_overlap must lie in (0, 1), got {overlap!r}")
    lab = np.asarray(labels.tolist() if hasattr(labels, "tolist") else labels, dtype=np.int64)
    if lab.size and (lab.min() < -1 or lab.max() >= c):
        raise ValueError(
            f"labels must lie in [-1, {c}) (num_classes={c}), got {lab.min()}..{lab.max()}"
        )
    b = np.asarray(boxes.tolist() if hasattr(boxes, "tolist") else boxes, dtype=np.float64)
    b = b.reshape(-1, 4)[lab.reshape(-1) >= 0]
    if b.size and bool(np.any((b[:, 2] < b[:, 0]) | (b[:, 3] < b[:, 1]))):
        raise ValueError("boxes of objects must have x2 >= x1 and y2 >= y1 (negative sizes)")
    return dtype


def gaussian_radius(h: float, w: float, overlap: float, formula: str) -> float:
    """CornerNet's radius: the smallest of three cases (corners in/out of the box)."""
    b1, c1 = h + w, w * h * (1 - overlap) / (1 + overlap)
    b2, c2 = 2 * (h + w), (1 - overlap) * w * h
    a3, b3, c3 = 4 * overlap, -2 * overlap * (h + w), (overlap - 1) * w * h
    sq1 = math.sqrt(b1 * b1 - 4 * c1)
    sq2 = math.sqrt(b2 * b2 - 16 * c2)
    sq3 = math.sqrt(b3 * b3 - 4 * a3 * c3)
    if formula == "reference":
        return min((b1 + sq1) / 2, (b2 + sq2) / 2, (b3 + sq3) / 2)
    return min((b1 - sq1) / 2, (b2 - sq2) / 8, (-b3 + sq3) / (2 * a3))


def gaussian_window(r: int) -> Any:
    """(2r+1)^2 Gaussian, sigma = (2r+1)/6, values below eps * max zeroed."""
    sigma = (2 * r + 1) / 6
    y, x = np.ogrid[-r : r + 1, -r : r + 1]
    g = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    g[g < np.finfo(np.float64).eps * g.max()] = 0
    return g


def centernet_gaussian_heatmap(
    boxes: Any,
    labels: Any,
    num_classes: int,
    height: int,
    width: int,
    min_overlap: float,
    opts: HeatmapOptions,
) -> Any:
    """Oracle: float64, one object at a time, as CenterNet's ctdet dataset: clip the box to
    the map, skip it if its clipped h or w is 0, r = max(0, int(radius(ceil h, ceil w))),
    integer centre = trunc(centre), max-merge the window clipped at the borders."""
    check_inputs(boxes, labels, num_classes, height, width, min_overlap)
    bx = np.asarray(boxes, dtype=np.float64)
    lab = np.asarray(labels, dtype=np.int64)
    nb, m = lab.shape
    heat = np.zeros((nb, num_classes, height, width))
    wh, off = np.zeros((nb, m, 2)), np.zeros((nb, m, 2))
    index, mask = np.zeros((nb, m), dtype=np.int64), np.zeros((nb, m))
    for i in range(nb):
        for k in range(m):
            if lab[i, k] < 0:
                continue
            x1, x2 = np.clip(bx[i, k, [0, 2]], 0, width - 1)
            y1, y2 = np.clip(bx[i, k, [1, 3]], 0, height - 1)
            h, w = y2 - y1, x2 - x1
            if not (h > 0 and w > 0):
                continue
            r = max(0, int(gaussian_radius(math.ceil(h), math.ceil(w), min_overlap,
                                           opts.radius_formula)))  # fmt: skip
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            ix, iy = int(cx), int(cy)
            g = gaussian_window(r)
            left, right = min(ix, r), min(width - ix, r + 1)
            top, bottom = min(iy, r), min(height - iy, r + 1)
            hm = heat[i, lab[i, k], iy - top : iy + bottom, ix - left : ix + right]
            np.maximum(hm, g[r - top : r + bottom, r - left : r + right], out=hm)
            wh[i, k], off[i, k] = (w, h), (cx - ix, cy - iy)
            index[i, k], mask[i, k] = iy * width + ix, 1.0
    return heat, wh, off, index, mask


# ---- inputs ---------------------------------------------------------------------------------


def make_inputs(case: Case) -> Inputs:
    p = case.params
    rng = np.random.default_rng(case.seed)
    nb, m, c, h, w = (int(p[k]) for k in ("b", "m", "c", "h", "w"))
    size = rng.uniform(1.0, 0.5 * max(h, w), size=(nb, m, 2)) * p.get("size_scale", 1.0)
    xy = rng.uniform(0.0, 1.0, size=(nb, m, 2)) * [w, h] - size / 2
    boxes = np.concatenate([xy, xy + size], axis=2)
    labels = rng.integers(0, c, size=(nb, m))
    labels[:, m - int(p.get("pad", 0)) :] = -1
    pattern = p.get("pattern", "random")
    if pattern == "border":  # partly and wholly off the map: clipped, or skipped
        boxes[:, ::3, :2] -= [w * 0.3, h * 0.3]
        boxes[:, 1::3, 2:] += [w * 0.4, h * 0.4]
        boxes[:, 2::5] += [2.0 * w, 0, 2.0 * w, 0]
    elif pattern == "overlap":  # every object in one class on nearly the same centre: max
        labels[labels >= 0] = 0
        boxes[:, 1::2] = boxes[:, ::2][:, : boxes[:, 1::2].shape[1]] + 0.7
    elif pattern == "integer_centres":  # centres on whole cells: offset 0, trunc == floor
        boxes = np.round(boxes)
        boxes[..., 2:] += (boxes[..., 2:] - boxes[..., :2]) % 2
    elif pattern == "tiny":  # r = 0 (1-cell peaks) and zero-size boxes (skipped)
        boxes[..., 2:] = boxes[..., :2] + rng.uniform(0.0, 1.5, size=(nb, m, 2))
        boxes[:, ::4, 2] = boxes[:, ::4, 0]
    if p.get("bad") == "size":  # the first object of image 0 with x2 < x1 (negative width)
        boxes[0, 0, [0, 2]] = boxes[0, 0, [2, 0]] + [0.5, 0.0]
    return {
        "boxes": boxes.astype(case.dtype),
        "labels": labels if p.get("bad") != "label" else labels + c,
        "num_classes": c,
        "height": h,
        "width": w,
        "min_overlap": float(p.get("overlap", 0.7)),
    }


# ---- cost and tolerance -----------------------------------------------------------------------


def cost(case: Case, expected: Any) -> Cost:
    """One exp + max per window cell drawn (bounded by the cells the oracle's heatmap has
    non-zero), ~30 flops of geometry per object, and one write per heatmap cell (zeroing);
    bytes: the heatmap written once, b*B*C*H*W, and 9 values per object."""
    p = case.params
    nb, m, c, h, w = (int(p[k]) for k in ("b", "m", "c", "h", "w"))
    bsz = np.dtype(case.dtype).itemsize
    cells = float(np.count_nonzero(expected[0]))
    return Cost(
        flops=3.0 * cells + 30.0 * nb * m + float(nb * c * h * w),
        bytes=bsz * (nb * c * h * w + nb * m * 9),
        items=nb * m,
        item_unit="objects",
    )


def _close(case: Case) -> Tolerance:
    """exp of a float32 argument (|x| <= ~20): a few ulps; sizes and offsets are one
    subtraction of float32 coordinates (<= 2*map size): 4 eps * map size."""
    eps = EPS.get(case.dtype, 0.0)
    if case.dtype == "float64":
        return Tolerance(1e-10, 1e-10, "float64")
    scale = 4.0 * max(int(case.params["h"]), int(case.params["w"]))
    return Tolerance(16 * eps, 4 * eps * scale, "exp and one subtraction in float32")


@dataclass(frozen=True)
class IndexClose(Close):
    """Cell indices: int64, exact. (Close, not Exact: Exact inside Outputs raises on a
    shape mismatch instead of reporting it.)"""

    def expected_dtype(self, case: Case) -> str | None:
        return "int64"


COMPARE = Outputs(
    {
        "heatmap": Close(override=_close),
        "wh": Close(override=_close),
        "offset": Close(override=_close),
        "index": IndexClose(override=lambda case: Tolerance(0.0, 0.0, "cell indices: exact")),
        "mask": Close(override=_close),
    }
)

_SMALL: dict[str, Any] = dict(b=2, m=7, c=3, h=24, w=20, pad=2)


def _c(name: str, kind: str = "regular", options: dict[str, Any] | None = None, **p: Any) -> Case:
    maker = case if kind == "regular" else edge
    return maker(name, options=options, **{**_SMALL, **p})


_EXACT = {"radius_formula": "exact"}
CASES = [
    _c("random_f32"),
    _c("random_f64", dtype="float64"),
    _c("exact_radius_f64", dtype="float64", options=_EXACT),
    _c("exact_radius_f32", options=_EXACT),
    _c("overlap_0.5_f64", dtype="float64", overlap=0.5),
    _c("many_objects", b=1, m=300, c=5, h=48, w=40, pad=0, size_scale=0.3),
    _c("border_f64", "edge", dtype="float64", m=12, pattern="border"),
    _c("overlap_max_f64", "edge", dtype="float64", m=10, pattern="overlap"),
    _c("integer_centres_f64", "edge", dtype="float64", pattern="integer_centres"),
    _c("tiny_f64", "edge", dtype="float64", m=9, pattern="tiny"),
    _c("all_padding", "edge", pad=7),
    _c("no_objects", "edge", m=0, pad=0),
    _c("empty_batch", "edge", b=0),
]

ERRORS = [
    error("label_out_of_range", ValueError, r"\blabels\b", **_SMALL, bad="label"),
    error("min_overlap_one", ValueError, r"\bmin_overlap\b", **_SMALL, overlap=1.0),
    error("min_overlap_zero", ValueError, r"\bmin_overlap\b", **_SMALL, overlap=0.0),
    error("negative_width", ValueError, r"\bnegative sizes\b", **_SMALL, bad="size"),
]

# The specification's standard size: batch 16, 80 classes, 128 x 128, 50 objects.
BENCH = {
    "smoke": [bench("bench_b2", b=2, c=80, h=128, w=128, m=50)],
    "quick": [bench("bench_b16_c80", b=16, c=80, h=128, w=128, m=50)],
    "full": [bench("bench_b64_m100", b=64, c=80, h=128, w=128, m=100)],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    def build(b: int, m: int, c: int, hw: tuple[int, int], pattern: str, seed: int,
              dtype: str, options: dict[str, Any]) -> Case:  # fmt: skip
        params = dict(b=b, m=m, c=c, h=hw[0], w=hw[1], pad=0, pattern=pattern, seed=seed,
                      dtype=dtype)  # fmt: skip
        return Case("fuzz", params, options, "fuzz")

    return st.builds(
        build,
        st.integers(1, 3),
        st.integers(0, 12),
        st.integers(1, 4),
        st.tuples(st.integers(1, 24), st.integers(1, 24)),
        st.sampled_from(["random", "border", "overlap", "integer_centres", "tiny"]),
        st.integers(0, 2**31 - 1),
        st.sampled_from(["float32", "float64"]),
        HeatmapOptions.strategy(optional=True),
    )


SUITE = Suite(
    algorithm="centernet_gaussian_heatmap",
    family="detection-geometry",
    summary="CenterNet targets: boxes (B, M, 4), labels (B, M) -> heatmap (B, C, H, W), wh, "
    "offset (B, M, 2), index (B, M), mask (B, M).",
    conventions=(
        "Boxes (x1, y1, x2, y2) in output-map cells; label -1 is padding. Per object (as "
        "CenterNet's ctdet): clip x to [0, W-1] and y to [0, H-1]; skip it unless both "
        "clipped sides are > 0; r = max(0, int(gaussian_radius(ceil h, ceil w, "
        "min_overlap))), the minimum over CornerNet's three quadratic cases (radius_formula "
        "'reference': (b + sqrt(b^2 - 4ac))/2 as in the CornerNet/CenterNet code; 'exact': "
        "the roots (b1 - sq1)/2, (b2 - sq2)/8, (-b3 + sq3)/(2 a3)); centre c = box centre, "
        "integer centre trunc(c); a (2r+1)^2 Gaussian with sigma = (2r+1)/6, values below "
        "eps(float64) * max set to 0, is merged into heatmap[b, label] by element-wise max, "
        "clipped at the borders; wh = (w, h), offset = c - trunc(c), index = iy*W + ix, "
        "mask = 1 (0, and zeros, for padding and skipped objects). Outputs in the float "
        "dtype; index int64. Must raise: label outside [-1, C), negative sizes, min_overlap "
        "outside (0, 1)."
    ),
    args=ARGS,
    options=HeatmapOptions,
    make_inputs=make_inputs,
    oracle=centernet_gaussian_heatmap,
    compare=COMPARE,
    cost=cost,
    outputs=("heatmap", "wh", "offset", "index", "mask"),
    defaults={"seed": 11, "dtype": "float32"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_b16_c80",
    multi_block={"M": 300},
    fuzz=fuzz_strategy,
    backends=("python", "numpy", "numba", "torch_cpu", "torch_cuda"),
    reference="CenterNet (xingyizhou) gaussian_radius / draw_umich_gaussian: oracle only",
)
