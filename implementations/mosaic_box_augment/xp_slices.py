"""mosaic_box_augment through the array API (NumPy, torch CPU/CUDA, CuPy): one fill, then 4B
rectangle copies (a flipped source is copied from the mirrored column range and reversed),
and every box of the batch moved, clipped and filtered in one broadcast with per-(sample,
source) offsets."""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace, device

from harness import implementation
from suites.mosaic_box_augment import MosaicOptions, check, placement


@implementation("mosaic_box_augment", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "slices")
def mosaic_box_augment(images: Any, boxes: Any, centres: Any, flips: Any, s: int, fill: int,
                       min_size: float, opts: MosaicOptions) -> Any:  # fmt: skip
    """Rectangle copies per source; boxes for the whole batch at once (float64)."""
    dtype, xp = check(images, boxes, centres, flips, s, fill, min_size), array_namespace(images)
    dev, f64 = device(images), xp.float64
    n_b, _, h, w, n_c = images.shape
    n = boxes.shape[2]
    canvas = xp.full((n_b, 2 * s, 2 * s, n_c), fill, dtype=images.dtype, device=dev)
    flip = flips.tolist()
    rects = []
    for b, (xc, yc) in enumerate(centres.tolist()):
        for i in range(4):
            x1a, y1a, x2a, y2a, x1b, y1b, x2b, y2b = placement(i, xc, yc, h, w, s)
            if flip[b][i]:  # columns x1b:x2b of the mirror are w - x2b : w - x1b reversed
                src = xp.flip(images[b, i, y1b:y2b, w - x2b : w - x1b], axis=1)
            else:
                src = images[b, i, y1b:y2b, x1b:x2b]
            canvas[b, y1a:y2a, x1a:x2a] = src
            rects.append([x1a - x1b, y1a - y1b])
    r = xp.reshape(xp.asarray(rects, dtype=f64, device=dev), (n_b, 4, 1, 2))
    bx = xp.astype(boxes, f64)
    right = float(w) if opts.flip_convention == "continuous" else float(w - 1)
    fl = xp.reshape(xp.asarray(flip, dtype=xp.bool, device=dev), (n_b, 4, 1))
    x1 = xp.where(fl, right - bx[..., 2], bx[..., 0])
    x2 = xp.where(fl, right - bx[..., 0], bx[..., 2])
    top = float(2 * s)
    x1, x2 = xp.clip(x1 + r[..., 0], 0.0, top), xp.clip(x2 + r[..., 0], 0.0, top)
    y1 = xp.clip(bx[..., 1] + r[..., 1], 0.0, top)
    y2 = xp.clip(bx[..., 3] + r[..., 1], 0.0, top)
    keep = (x2 - x1 > min_size) & (y2 - y1 > min_size)
    out = xp.stack([x1, y1, x2, y2], axis=-1)
    out = xp.where(keep[..., None], out, xp.asarray(float("nan"), dtype=f64, device=dev))
    return (canvas, xp.astype(xp.reshape(out, (n_b, 4 * n, 4)), dtype),
            xp.reshape(keep, (n_b, 4 * n)))  # fmt: skip
