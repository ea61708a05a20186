"""Suite for mosaic_box_augment: YOLO's 4-image mosaic (YOLOv5 ``load_mosaic``) with injected
centre and flips.

Per sample: a 2s x 2s canvas filled with ``fill``; image i (h x w, optionally flipped left to
right first) is placed with a corner at the centre (xc, yc): 0 top-left, 1 top-right,
2 bottom-left, 3 bottom-right, cropped by the canvas (YOLOv5's rectangles). Its boxes move
by the placement offset, are clipped to the canvas (as YOLOv5; a source's visible part is
its placed extent cut by the canvas, so clipping to that part is the same thing and every
kept box covers only its own source's pixels) and dropped unless both sides exceed
min_size. A flip maps x to w - x with x1 and x2 swapped (continuous) or to w - 1 - x
(pixel-inclusive boxes). Outputs: the canvas, the 4·N boxes in image order (NaN rows where
dropped) and the keep mask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import NO_NAN, NOT_INVERTED, Arg, Args, Rule, Scalar
from harness.cases import bench, case, edge, error, fuzz_cases
from harness.comparators import Close, Exact, Outputs
from harness.comparators.base import EPS
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


@dataclass(frozen=True)
class MosaicOptions(Options):
    flip_convention: str = option(
        "continuous", "inclusive", meaning="x' = w - x with x1, x2 swapped, or w - 1 - x"
    )


def _invert_first(boxes: np.ndarray) -> np.ndarray:
    out = np.array(boxes, copy=True)
    flat = out.reshape(-1, 4)
    flat[0, 2] = flat[0, 0] - 1.0
    return out


ARGS = Args(
    Arg("images", ("B", 4, "H", "W", "C"), "real"),
    Arg(
        "boxes",
        ("B", 4, "N", 4),
        "float",
        rules=(Rule(NOT_INVERTED.text, NOT_INVERTED.broken, _invert_first), NO_NAN),
    ),
    Arg("centres", ("B", 2), "int"),
    Arg("flips", ("B", 4), "bool"),
    Scalar("s", "int", low=1),
    Scalar("fill", "int", low=0, high=255),
    Scalar("min_size", low=0.0),
    nonempty=("B", "H", "W", "C"),
)
OUTPUTS = ("canvas", "out_boxes", "keep")


def check(images: Any, boxes: Any, centres: Any, flips: Any, s: int, fill: int,
          min_size: float) -> Any:  # fmt: skip
    """ARGS.check, then every centre in [s/2, 3s/2]."""
    dtype = ARGS.check(images, boxes, centres, flips, s, fill, min_size)
    c = np.asarray(centres.tolist(), dtype=np.int64).reshape(-1, 2)
    if c.size and ((2 * c < s).any() or (2 * c > 3 * s).any()):
        raise ValueError(f"centres must lie in [s/2, 3s/2] = [{s / 2:g}, {3 * s / 2:g}]")
    return dtype


def placement(i: int, xc: int, yc: int, h: int, w: int, s: int) -> tuple[int, ...]:
    """YOLOv5's rectangles: canvas (x1a, y1a, x2a, y2a) <- source (x1b, y1b, x2b, y2b)."""
    if i == 0:
        a = (max(xc - w, 0), max(yc - h, 0), xc, yc)
        return (*a, w - (a[2] - a[0]), h - (a[3] - a[1]), w, h)
    if i == 1:
        a = (xc, max(yc - h, 0), min(xc + w, 2 * s), yc)
        return (*a, 0, h - (a[3] - a[1]), min(w, a[2] - a[0]), h)
    if i == 2:
        a = (max(xc - w, 0), yc, xc, min(2 * s, yc + h))
        return (*a, w - (a[2] - a[0]), 0, w, min(a[3] - a[1], h))
    a = (xc, yc, min(xc + w, 2 * s), min(2 * s, yc + h))
    return (*a, 0, 0, min(w, a[2] - a[0]), min(a[3] - a[1], h))


def mosaic_box_augment(images: Any, boxes: Any, centres: Any, flips: Any, s: int, fill: int,
                       min_size: float, opts: MosaicOptions) -> Any:  # fmt: skip
    """Oracle: one sample and one source image at a time, boxes in float64."""
    dtype = check(images, boxes, centres, flips, s, fill, min_size)
    n_b, _, h, w, n_c = images.shape
    n = boxes.shape[2]
    canvas = np.full((n_b, 2 * s, 2 * s, n_c), fill, dtype=images.dtype)
    out = np.full((n_b, 4 * n, 4), np.nan)
    keep = np.zeros((n_b, 4 * n), dtype=bool)
    for b in range(n_b):
        xc, yc = (int(v) for v in centres[b])
        for i in range(4):
            img = np.asarray(images[b, i])
            bx = np.asarray(boxes[b, i], np.float64).reshape(-1, 4).copy()
            if flips[b, i]:
                img = img[:, ::-1]
                right = w if opts.flip_convention == "continuous" else w - 1
                bx[:, [0, 2]] = right - bx[:, [2, 0]]
            x1a, y1a, x2a, y2a, x1b, y1b, x2b, y2b = placement(i, xc, yc, h, w, s)
            canvas[b, y1a:y2a, x1a:x2a] = img[y1b:y2b, x1b:x2b]
            bx += np.array([x1a - x1b, y1a - y1b, x1a - x1b, y1a - y1b], dtype=np.float64)
            bx = np.clip(bx, 0, 2 * s)
            ok = (bx[:, 2] - bx[:, 0] > min_size) & (bx[:, 3] - bx[:, 1] > min_size)
            out[b, i * n : (i + 1) * n][ok] = bx[ok]
            keep[b, i * n : (i + 1) * n] = ok
    return canvas, out.astype(dtype), keep


def make_inputs(case: Case) -> Inputs:
    """Random uint8 sources (h x w, 3 channels), N boxes each of 1 px to half the source
    inside it (fractional corners), a random centre in [s/2, 3s/2] and random flips.
    Patterns: extreme (centres at the range's ends: sources cropped hard, boxes cropped
    away), edges (boxes touching the source's borders: they end on a seam)."""
    p = case.params
    rng = np.random.default_rng(case.seed)
    s = int(p.get("s", 32))
    h, w = int(p.get("h", s)), int(p.get("w", s + s // 4))  # wider than high by default
    n_b, n, n_c = int(p.get("batch", 2)), int(p.get("n", 6)), int(p.get("c", 3))
    pattern = p.get("pattern", "random")
    images = rng.integers(0, 256, (n_b, 4, h, w, n_c), dtype=np.uint8)
    dims = np.array([w, h], dtype=np.float64)
    wh = rng.uniform(np.minimum(1.0, 0.5 * dims), 0.5 * dims, (n_b, 4, n, 2))
    xy = rng.uniform(0.0, 1.0, (n_b, 4, n, 2)) * (np.array([w, h]) - wh)
    if pattern == "edges":  # alternate boxes flush with the left/top or right/bottom border
        xy = np.where(np.arange(n)[:, None] % 2 == 0, 0.0, np.array([w, h]) - wh)
    boxes = np.concatenate([xy, xy + wh], axis=-1)
    lo, hi = -(-s // 2), (3 * s) // 2
    centres = rng.integers(lo, hi + 1, (n_b, 2))
    if pattern == "extreme":
        centres = np.where(rng.random((n_b, 2)) < 0.5, lo, hi)
    flips = rng.random((n_b, 4)) < float(p.get("flip_rate", 0.5))
    dtype = np.dtype(case.dtype)
    return {"images": images, "boxes": boxes.astype(dtype), "centres": centres.astype(np.int64),
            "flips": flips, "s": s, "fill": int(p.get("fill", 114)),
            "min_size": float(p.get("min_size", 2.0))}  # fmt: skip


def cost(case: Case) -> Cost:
    """The copy: each canvas written once and up to as many source bytes read (uint8), plus
    ≈ 12 flops per box; items: samples."""
    p = case.params
    s, n_b, n = int(p.get("s", 32)), int(p.get("batch", 2)), int(p.get("n", 6))
    n_c = int(p.get("c", 3))
    b = np.dtype(case.dtype).itemsize
    return Cost(flops=float(n_b * 4 * n * 12), bytes=float(n_b * (2 * (2 * s) ** 2 * n_c
                + 4 * n * 9 * b)), items=n_b, item_unit="samples")  # fmt: skip


def _close(case: Case) -> Tolerance:
    """Boxes move by integer offsets and are clipped: one rounding of coordinates up to 2s."""
    rtol = max(4 * EPS[case.dtype], 1e-12)
    return Tolerance(rtol, rtol * 1e3, f"{case.dtype}: one rounding of coordinates")


CASES = [
    case("random"),
    case("random_f64", dtype="float64"),
    case(
        "inclusive_flip", dtype="float64", flip_rate=1.0, options={"flip_convention": "inclusive"}
    ),
    case("all_flipped", dtype="float64", flip_rate=1.0),
    case("edges_on_seams", dtype="float64", pattern="edges"),
    case("extreme_centres", dtype="float64", pattern="extreme", n=10),
    case("small_sources", dtype="float64", h=12, w=20, s=32),
    case("large_min_size", dtype="float64", min_size=8.0, fill=0),
    # 300 boxes per source: past a 256 block
    case("multi_block", n=300, batch=1),
]
EDGES = [
    edge("no_boxes", n=0, batch=1, h=24, w=40, c=3),
    edge("one_pixel_sources", h=1, w=1, s=8, n=1, batch=3),
]
ERRORS = [
    error("centre_out_of_range", ValueError, "centres", pattern="extreme", s=32, bad=True),
]


def _errors_inputs(case: Case) -> Inputs:
    inputs = dict(make_inputs(case))
    if case.params.get("bad"):
        c = np.array(inputs["centres"], copy=True)
        c[0, 0] = 3 * int(case.params.get("s", 32)) // 2 + 1
        inputs["centres"] = c
    return inputs


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "s": st.integers(2, 48),
            "h": st.integers(1, 48),
            "w": st.integers(1, 48),
            "n": st.integers(0, 8),
            "batch": st.integers(1, 3),
            "pattern": st.sampled_from(["random", "edges", "extreme"]),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
        }
    )
    return fuzz_cases(params, MosaicOptions.strategy(optional=True))  # fmt: skip


SUITE = Suite(
    algorithm="mosaic_box_augment",
    family="detection-geometry",
    summary="YOLO mosaic: four sources around an injected centre on a 2s x 2s canvas, boxes "
    "translated, clipped and filtered -> canvas, boxes (B, 4N, 4), keep (B, 4N).",
    conventions=(
        "images (B, 4, H, W, C) (exactly four; uint8 or any real dtype, kept), boxes "
        "(B, 4, N, 4) x1, y1, x2, y2 in source pixels, centres (B, 2) int (xc, yc) in "
        "[s/2, 3s/2] (else ValueError), flips (B, 4) bool; s >= 1, fill in [0, 255], "
        "min_size >= 0. YOLOv5's placement rectangles; a flip mirrors the source and maps x "
        "to w - x (x1, x2 swapped) or w - 1 - x; boxes clipped to the canvas [0, 2s], kept "
        "when both sides > min_size. canvas in images' dtype; "
        "out_boxes in the boxes' dtype, NaN rows where dropped; keep bool."
    ),
    args=ARGS,
    options=MosaicOptions,
    make_inputs=_errors_inputs,
    oracle=mosaic_box_augment,
    compare=Outputs(
        {
            "canvas": Exact(dtype="uint8"),
            "out_boxes": Close(override=_close),
            "keep": Exact(dtype="bool"),
        }
    ),
    outputs=OUTPUTS,
    cost=cost,
    defaults={"seed": 13, "dtype": "float32"},
    cases=[*CASES, *EDGES],
    errors=ERRORS,
    bench={
        "smoke": [bench("bench_small", s=160, batch=4, n=20)],
        # the spec's standard: s = 640, batch 16, 50 boxes per source
        "quick": [bench("bench_640", s=640, batch=16, n=50)],
        "full": [bench("bench_large", s=1280, batch=64, n=50)],
    },
    standard="bench_640",
    multi_block={"N": 300},
    fuzz=fuzz_strategy,
    backends=("numpy", "torch_cpu", "torch_cuda", "cupy"),
    reference="oracle only (YOLOv5 load_mosaic's rectangles; invariant: the pixels under "
    "each kept box are its source's)",
)

SUITES = [SUITE]
