"""giou_diou_ciou.backward through the array API: the analytic gradient, column by column.

The chain rule of the paired loss written on the four coordinate columns (x1, y1, x2, y2):
each derivative is a handful of (N,) columns (the indicator of each min/max branch, the
intersection, union, enclosing box, centre distance, aspect angle), combined once and
stacked at the end; no (N, 4) Jacobian tensors. Input dtype throughout. NumPy, torch (CPU
and CUDA) and CuPy through array-api-compat.
"""

from __future__ import annotations

import math
from typing import Any

from array_api_compat import array_namespace

from harness import implementation
from suites.giou_diou_ciou import GiouBackwardOptions, check_backward

V_SCALE = 4.0 / math.pi**2


@implementation("giou_diou_ciou.backward", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "xp")
def giou_backward(boxes_a: Any, boxes_b: Any, grad: Any, opts: GiouBackwardOptions) -> Any:
    """Analytic d(loss)/d(boxes_a) on (N,) columns; the upstream gradient scales the end."""
    dtype = check_backward(boxes_a, boxes_b, grad, opts)
    xp = array_namespace(boxes_a, boxes_b, grad)
    a, b, g = xp.astype(boxes_a, dtype), xp.astype(boxes_b, dtype), xp.astype(grad, dtype)
    n, e = a.shape[0], opts.eps
    if opts.reduction == "mean":
        g = g / max(n, 1)
    x1, y1, x2, y2 = a[:, 0], a[:, 1], a[:, 2], a[:, 3]
    p1, q1, p2, q2 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]

    def ind(mask: Any) -> Any:
        return xp.astype(mask, dtype)

    wa, ha = x2 - x1, y2 - y1
    iw = xp.minimum(x2, p2) - xp.maximum(x1, p1)
    ih = xp.minimum(y2, q2) - xp.maximum(y1, q1)
    meet = ind((iw > 0) & (ih > 0))
    iw, ih = iw * meet, ih * meet  # 0 where the boxes do not meet: inter and its derivative
    inter = iw * ih
    union = wa * ha + (p2 - p1) * (q2 - q1) - inter
    u = union + e
    # d inter / d(x1, y1, x2, y2)
    di = (-ih * ind(x1 > p1), -iw * ind(y1 > q1), ih * ind(x2 < p2), iw * ind(y2 < q2))
    du = (-ha - di[0], -wa - di[1], ha - di[2], wa - di[3])
    iou = inter / u
    d_iou = [(di[k] - iou * du[k]) / u for k in range(4)]
    cw = xp.maximum(x2, p2) - xp.minimum(x1, p1)
    ch = xp.maximum(y2, q2) - xp.minimum(y1, q1)
    dcw = (-ind(x1 < p1), None, ind(x2 > p2), None)
    dch = (None, -ind(y1 < q1), None, ind(y2 > q2))
    if opts.metric == "giou":
        c = cw * ch + e
        dc = (dcw[0] * ch, dch[1] * cw, dcw[2] * ch, dch[3] * cw)
        cols = [(dc[k] * u / c - du[k]) / c - d_iou[k] for k in range(4)]
    else:
        c2 = cw * cw + ch * ch + e
        rx, ry = ((x1 + x2) - (p1 + p2)) / 2, ((y1 + y2) - (q1 + q2)) / 2
        ratio = (rx * rx + ry * ry) / c2
        dc2 = (2 * cw * dcw[0], 2 * ch * dch[1], 2 * cw * dcw[2], 2 * ch * dch[3])
        cols = [(r - ratio * dc2[k]) / c2 - d_iou[k] for k, r in enumerate((rx, ry, rx, ry))]
        if opts.metric == "ciou":
            gap = xp.atan((p2 - p1) / (q2 - q1)) - xp.atan(wa / ha)
            v = V_SCALE * gap * gap
            k_phi = -2 * V_SCALE * gap / (wa * wa + ha * ha)
            dv = (-ha * k_phi, wa * k_phi, ha * k_phi, -wa * k_phi)
            den = 1 - iou + v + e
            alpha = v / den
            for k in range(4):
                cols[k] = cols[k] + alpha * dv[k]
                if not opts.detach_alpha:
                    cols[k] = cols[k] + v * (dv[k] * (den - v) + v * d_iou[k]) / (den * den)
    return xp.stack([col * g for col in cols], axis=1)
