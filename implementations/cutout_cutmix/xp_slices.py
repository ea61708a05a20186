"""cutout_cutmix through the array API, copy-then-paste: one batch copy, one slice per image.

The batch is copied once (a streaming memcpy), then each image's box is a strided slice
assignment from the input batch (CutMix) or a fill with 0 (CutOut): only the boxes are
touched twice. The box arithmetic is plain Python integers per image (sides in float64 as
the reference code); the labels mix in one vectorised step. Best where a per-image loop
is cheap (CPU).
"""

from __future__ import annotations

import math
from typing import Any

from array_api_compat import array_namespace, device

from harness import implementation
from suites.cutout_cutmix import CutOptions, check_cut


@implementation("cutout_cutmix", ("numpy", "torch_cpu"), "slices")
def cutout_cutmix(
    images: Any, labels: Any, perm: Any, lam: Any, centres: Any, length: int, opts: CutOptions
) -> tuple[Any, Any]:
    """Copy the batch, then paste (or zero) each image's clipped box as a slice."""
    _, lab_dtype = check_cut(images, labels, perm, lam, centres, length)
    xp = array_namespace(images)
    n, _, h, w = images.shape
    out = xp.asarray(images, copy=True)
    cy, cx = centres[:, 0].tolist(), centres[:, 1].tolist()
    src, lams = perm.tolist(), xp.astype(lam, xp.float64).tolist()
    kept = [0.0] * n
    even = opts.box_side == "even"
    for i in range(n):
        if opts.op == "cutout":
            sh = sw = length
        else:
            ratio = math.sqrt(1.0 - lams[i])
            sh, sw = int(h * ratio), int(w * ratio)
        y1, x1 = cy[i] - sh // 2, cx[i] - sw // 2
        y2, x2 = (cy[i] + sh // 2, cx[i] + sw // 2) if even else (y1 + sh, x1 + sw)
        y1, y2 = min(max(y1, 0), h), min(max(y2, 0), h)
        x1, x2 = min(max(x1, 0), w), min(max(x2, 0), w)
        if opts.op == "cutout":
            out[i, :, y1:y2, x1:x2] = 0
            continue
        out[i, :, y1:y2, x1:x2] = images[src[i], :, y1:y2, x1:x2]
        area = (y2 - y1) * (x2 - x1)
        kept[i] = 1.0 - area / (h * w) if opts.correct_lam else lams[i]
    if opts.op == "cutout":
        return out, xp.asarray(labels, copy=True)
    k = xp.reshape(xp.asarray(kept, dtype=xp.float64, device=device(labels)), (n, 1))
    k = xp.astype(k, lab_dtype)
    return out, k * labels + (1 - k) * xp.take(labels, perm, axis=0)
