"""cutout_cutmix through the array API, branch-free: box masks and one select (any device).

The boxes of all images are formed at once from the injected draws (sides in float64 as the
reference code, spans clipped), turned into row and column masks (N, H) and (N, W) whose
outer product is the (N, 1, H, W) box mask; CutMix selects between the batch and its
permuted copy, CutOut between the batch and 0. No per-image loop: one kernel per step on
a GPU.
"""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace, device

from harness import implementation
from suites.cutout_cutmix import CutOptions, check_cut


def _span(xp: Any, centre: Any, side: Any, size: int, opts: CutOptions) -> tuple[Any, Any]:
    lo = centre - side // 2
    hi = centre + side // 2 if opts.box_side == "even" else lo + side
    return xp.clip(lo, 0, size), xp.clip(hi, 0, size)


@implementation("cutout_cutmix", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "mask")
def cutout_cutmix(
    images: Any, labels: Any, perm: Any, lam: Any, centres: Any, length: int, opts: CutOptions
) -> tuple[Any, Any]:
    """Masks from the vectorised box spans, then xp.where against the permuted batch or 0."""
    _, lab_dtype = check_cut(images, labels, perm, lam, centres, length)
    xp, dev = array_namespace(images), device(images)
    n, _, h, w = images.shape
    c64 = xp.astype(centres, xp.int64)
    if opts.op == "cutout":
        sh = sw = xp.full((n,), length, dtype=xp.int64, device=dev)
    else:
        ratio = xp.sqrt(1.0 - xp.astype(lam, xp.float64))
        sh, sw = xp.astype(h * ratio, xp.int64), xp.astype(w * ratio, xp.int64)  # truncates
    y1, y2 = _span(xp, c64[:, 0], sh, h, opts)
    x1, x2 = _span(xp, c64[:, 1], sw, w, opts)
    rows = xp.arange(h, device=dev)[None, :]
    cols = xp.arange(w, device=dev)[None, :]
    in_rows = (rows >= y1[:, None]) & (rows < y2[:, None])
    in_cols = (cols >= x1[:, None]) & (cols < x2[:, None])
    box = in_rows[:, None, :, None] & in_cols[:, None, None, :]
    if opts.op == "cutout":
        return xp.where(box, xp.zeros((), dtype=images.dtype, device=dev), images), xp.asarray(
            labels, copy=True
        )
    src = xp.take(images, perm, axis=0)
    out = xp.where(box, src, images)
    if opts.correct_lam:
        kept = 1.0 - xp.astype((y2 - y1) * (x2 - x1), xp.float64) / (h * w)
    else:
        kept = xp.astype(lam, xp.float64)
    kept = xp.astype(kept, lab_dtype)[:, None]
    mixed = kept * labels + (1 - kept) * xp.take(labels, perm, axis=0)
    return out, mixed
