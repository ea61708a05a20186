"""giou_diou_ciou with Numba: one fused, compiled pass over the pairs, in float64 registers.

No (N, M) temporaries: every output element is produced in registers; the aspect angles
atan(w / h) are computed once per box. One kernel serves both forms (the paired loss walks
the diagonal j = i and writes 1 - metric) and both dtypes: boxes are widened to float64
(N x 4, a negligible copy) and the pairs computed in float64, so there is one compiled
signature per output dtype, and float32 results are the float64 values rounded once.
Serial: the benchmark pins one thread, and parallel=True costs several seconds more
compilation per signature, which every test run pays.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.giou_diou_ciou import GiouOptions, check

_METRICS = {"giou": 0, "diou": 1, "ciou": 2}


@numba.njit(cache=False, error_model="numpy")
def _kernel(a: Any, b: Any, metric: int, eps: float, paired: bool, out: Any) -> None:
    """out[i, j] = metric(a[i], b[j]), or out[i, 0] = 1 - metric(a[i], b[i]) when paired
    (then eps also enters the union and GIoU's |C|, as torchvision's losses)."""
    loss_eps = eps if paired else 0.0
    offset, sign = (1.0, -1.0) if paired else (0.0, 1.0)
    scale = 4.0 / math.pi**2
    ang_b = np.arctan((b[:, 2] - b[:, 0]) / (b[:, 3] - b[:, 1]))
    for i in range(a.shape[0]):
        ax1, ay1, ax2, ay2 = a[i, 0], a[i, 1], a[i, 2], a[i, 3]
        area_a = (ax2 - ax1) * (ay2 - ay1)
        ang_a = math.atan((ax2 - ax1) / (ay2 - ay1))
        lo, hi = (i, i + 1) if paired else (0, b.shape[0])
        for j in range(lo, hi):
            bx1, by1, bx2, by2 = b[j, 0], b[j, 1], b[j, 2], b[j, 3]
            iw = max(min(ax2, bx2) - max(ax1, bx1), 0.0)
            ih = max(min(ay2, by2) - max(ay1, by1), 0.0)
            inter = iw * ih
            union = area_a + (bx2 - bx1) * (by2 - by1) - inter
            iou = inter / (union + loss_eps)
            cw = max(ax2, bx2) - min(ax1, bx1)
            ch = max(ay2, by2) - min(ay1, by1)
            if metric == 0:
                area_c = cw * ch
                d = iou - (area_c - union) / (area_c + loss_eps)
            else:
                dx, dy = (ax1 + ax2) - (bx1 + bx2), (ay1 + ay2) - (by1 + by2)
                d = iou - 0.25 * (dx * dx + dy * dy) / (cw * cw + ch * ch + eps)
                if metric == 2:
                    t = ang_a - ang_b[j]
                    v = scale * t * t
                    d -= v * v / (1.0 - iou + v + eps)
            out[i, j - lo] = offset + sign * d


@implementation("giou_diou_ciou", "numba", "fused")
def giou(boxes_a: Any, boxes_b: Any, opts: GiouOptions) -> Any:
    """Fused loop nest in float64 registers, one atan per box; a reduction sums float64."""
    dtype = np.result_type(check(boxes_a, boxes_b, opts), np.float32)
    a = np.ascontiguousarray(boxes_a, dtype=np.float64)
    b = np.ascontiguousarray(boxes_b, dtype=np.float64)
    paired, reduced = opts.form == "paired_loss", opts.reduction != "none"
    out = np.empty((a.shape[0], 1 if paired else b.shape[0]), np.float64 if reduced else dtype)
    _kernel(a, b, _METRICS[opts.metric], float(opts.eps), paired, out)
    if not paired:
        return out
    loss = out.reshape(-1)
    if not reduced:
        return loss
    total = loss.mean() if opts.reduction == "mean" and loss.size else loss.sum()
    return np.asarray(total, dtype=dtype)
