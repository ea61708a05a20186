"""giou_diou_ciou through the array API: one broadcast, any namespace.

The same code serves NumPy, torch (CPU and CUDA) and CuPy via array-api-compat. Pairwise,
the sets broadcast as (N, 1) x (1, M), so per-box quantities (widths, heights, aspect
angles) are computed once per box; the paired loss runs the same formula row by row. Every
array stays in the result dtype.
"""

from __future__ import annotations

import math
from typing import Any

from array_api_compat import array_namespace

from harness import implementation
from suites.giou_diou_ciou import GiouOptions, check


def _metric(xp: Any, a: Any, b: Any, opts: GiouOptions, loss_eps: float) -> Any:
    wa, ha = a[..., 2] - a[..., 0], a[..., 3] - a[..., 1]
    wb, hb = b[..., 2] - b[..., 0], b[..., 3] - b[..., 1]
    iw = xp.minimum(a[..., 2], b[..., 2]) - xp.maximum(a[..., 0], b[..., 0])
    ih = xp.minimum(a[..., 3], b[..., 3]) - xp.maximum(a[..., 1], b[..., 1])
    inter = xp.clip(iw, min=0.0) * xp.clip(ih, min=0.0)
    union = wa * ha + wb * hb - inter
    iou = inter / (union + loss_eps) if loss_eps else inter / union
    cw = xp.maximum(a[..., 2], b[..., 2]) - xp.minimum(a[..., 0], b[..., 0])
    ch = xp.maximum(a[..., 3], b[..., 3]) - xp.minimum(a[..., 1], b[..., 1])
    if opts.metric == "giou":
        area_c = cw * ch
        return iou - (area_c - union) / (area_c + loss_eps if loss_eps else area_c)
    dx = (a[..., 0] + a[..., 2]) - (b[..., 0] + b[..., 2])
    dy = (a[..., 1] + a[..., 3]) - (b[..., 1] + b[..., 3])
    diou = iou - (dx * dx + dy * dy) / (4 * (cw * cw + ch * ch + opts.eps))
    if opts.metric == "diou":
        return diou
    angle = xp.atan(wa / ha) - xp.atan(wb / hb)
    v = (4 / math.pi**2) * angle * angle
    return diou - v * v / (1 - iou + v + opts.eps)


@implementation("giou_diou_ciou", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "xp")
def giou(boxes_a: Any, boxes_b: Any, opts: GiouOptions) -> Any:
    """(N, 1) x (1, M) broadcast, or row-wise for the paired loss; atan per box."""
    dtype, xp = check(boxes_a, boxes_b, opts), array_namespace(boxes_a, boxes_b)
    a, b = xp.astype(boxes_a, dtype), xp.astype(boxes_b, dtype)
    if opts.form == "pairwise":
        return _metric(xp, a[:, None, :], b[None, :, :], opts, 0.0)
    loss = 1 - _metric(xp, a, b, opts, opts.eps)
    if opts.reduction == "sum" or (opts.reduction == "mean" and loss.shape[0] == 0):
        return xp.sum(loss)
    return xp.mean(loss) if opts.reduction == "mean" else loss
