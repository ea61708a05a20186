"""softer_nms_variance_voting with Numba: one compiled sweep in score order.

The boxes are gathered once into score order (stable); each kept box scans only the boxes
after it that are still alive, accumulating the vote's weighted sums in registers, then a
second scan suppresses against the voted box. Scalar float64 arithmetic, output in the
input dtype.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.softer_nms_variance_voting import ARGS, SofterNmsOptions


@numba.njit(cache=False, inline="always")
def _iou(a0: float, a1: float, a2: float, a3: float, b: Any, j: int) -> float:
    iw = min(a2, b[j, 2]) - max(a0, b[j, 0])
    ih = min(a3, b[j, 3]) - max(a1, b[j, 1])
    if iw <= 0.0 or ih <= 0.0:
        return 0.0
    inter = iw * ih
    union = (a2 - a0) * (a3 - a1) + (b[j, 2] - b[j, 0]) * (b[j, 3] - b[j, 1]) - inter
    return inter / union if union != 0.0 else 0.0


@numba.njit(cache=False)
def _sweep(b: Any, inv: Any, t: float, sigma: float, floor: float, voted_ref: bool,
           keep: Any, out: Any) -> int:  # fmt: skip
    n = b.shape[0]
    alive = np.ones(n, dtype=np.bool_)
    k = 0
    for i in range(n):
        if not alive[i]:
            continue
        alive[i] = False
        a0, a1, a2, a3 = b[i, 0], b[i, 1], b[i, 2], b[i, 3]
        num = np.zeros(4)
        den = np.zeros(4)
        for c in range(4):  # the box itself: IoU 1, p = 1
            num[c] = inv[i, c] * b[i, c]
            den[c] = inv[i, c]
        for j in range(i + 1, n):
            if alive[j]:
                u = _iou(a0, a1, a2, a3, b, j)
                if u > floor:
                    p = math.exp(-((1.0 - u) ** 2) / sigma)
                    for c in range(4):
                        w = p * inv[j, c]
                        num[c] += w * b[j, c]
                        den[c] += w
        for c in range(4):
            out[k, c] = num[c] / den[c]
        keep[k] = i
        k += 1
        if voted_ref:
            a0, a1, a2, a3 = out[k - 1, 0], out[k - 1, 1], out[k - 1, 2], out[k - 1, 3]
        for j in range(i + 1, n):
            if alive[j] and _iou(a0, a1, a2, a3, b, j) > t:
                alive[j] = False
    return k


@implementation("softer_nms_variance_voting", "numba", "sweep")
def softer_nms(boxes: Any, scores: Any, variances: Any, iou_threshold: float, sigma_t: float,
               opts: SofterNmsOptions) -> tuple[Any, Any]:  # fmt: skip
    """Stable score order, then a compiled vote-and-suppress sweep over the alive boxes."""
    dtype = ARGS.check(boxes, scores, variances, iou_threshold, sigma_t)
    order = np.argsort(-np.asarray(scores), kind="stable")
    b = np.ascontiguousarray(np.asarray(boxes, dtype=np.float64)[order])
    inv = np.ascontiguousarray(1.0 / np.asarray(variances, dtype=np.float64)[order])
    keep = np.empty(len(b), dtype=np.int64)
    out = np.empty((len(b), 4))
    floor = 0.0 if opts.voters == "overlapping" else float(iou_threshold)
    k = _sweep(b, inv, float(iou_threshold), float(sigma_t), floor,
               opts.suppress_with == "voted", keep, out)  # fmt: skip
    return order[keep[:k]].astype(np.int64), out[:k].astype(dtype)
