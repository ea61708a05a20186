"""giou_diou_ciou.backward with Numba: the analytic gradient fused per row, rows in parallel.

One pass: each row reads its 8 coordinates and upstream gradient and writes its 4
derivatives; every intermediate (branch indicators, intersection, union, enclosing box,
centre distance, aspect angle) lives in registers. Float64 scalar arithmetic, output in
the input dtype.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from harness import implementation
from harness.numba_threads import threaded_njit
from suites.giou_diou_ciou import GiouBackwardOptions, check_backward

V_SCALE = 4.0 / math.pi**2


@threaded_njit(error_model="numpy")
def _kernel(a: Any, b: Any, g: Any, metric: int, e: float, detach: bool, out: Any) -> None:
    for i in numba.prange(a.shape[0]):
        x1, y1, x2, y2 = a[i, 0], a[i, 1], a[i, 2], a[i, 3]
        p1, q1, p2, q2 = b[i, 0], b[i, 1], b[i, 2], b[i, 3]
        wa, ha = x2 - x1, y2 - y1
        iw = min(x2, p2) - max(x1, p1)
        ih = min(y2, q2) - max(y1, q1)
        if iw <= 0.0 or ih <= 0.0:
            iw = ih = 0.0
        inter = iw * ih
        u = wa * ha + (p2 - p1) * (q2 - q1) - inter + e
        di0 = -ih if x1 > p1 else 0.0
        di1 = -iw if y1 > q1 else 0.0
        di2 = ih if x2 < p2 else 0.0
        di3 = iw if y2 < q2 else 0.0
        du0, du1, du2, du3 = -ha - di0, -wa - di1, ha - di2, wa - di3
        iou = inter / u
        dj0, dj1 = (di0 - iou * du0) / u, (di1 - iou * du1) / u
        dj2, dj3 = (di2 - iou * du2) / u, (di3 - iou * du3) / u
        cw = max(x2, p2) - min(x1, p1)
        ch = max(y2, q2) - min(y1, q1)
        dcw0 = -1.0 if x1 < p1 else 0.0
        dcw2 = 1.0 if x2 > p2 else 0.0
        dch1 = -1.0 if y1 < q1 else 0.0
        dch3 = 1.0 if y2 > q2 else 0.0
        if metric == 0:
            c = cw * ch + e
            r0 = (dcw0 * ch * u / c - du0) / c - dj0
            r1 = (dch1 * cw * u / c - du1) / c - dj1
            r2 = (dcw2 * ch * u / c - du2) / c - dj2
            r3 = (dch3 * cw * u / c - du3) / c - dj3
        else:
            c2 = cw * cw + ch * ch + e
            rx, ry = ((x1 + x2) - (p1 + p2)) * 0.5, ((y1 + y2) - (q1 + q2)) * 0.5
            ratio = (rx * rx + ry * ry) / c2
            r0 = (rx - ratio * 2.0 * cw * dcw0) / c2 - dj0
            r1 = (ry - ratio * 2.0 * ch * dch1) / c2 - dj1
            r2 = (rx - ratio * 2.0 * cw * dcw2) / c2 - dj2
            r3 = (ry - ratio * 2.0 * ch * dch3) / c2 - dj3
            if metric == 2:
                gap = math.atan((p2 - p1) / (q2 - q1)) - math.atan(wa / ha)
                v = V_SCALE * gap * gap
                k = -2.0 * V_SCALE * gap / (wa * wa + ha * ha)
                dv0, dv1, dv2, dv3 = -ha * k, wa * k, ha * k, -wa * k
                den = 1.0 - iou + v + e
                alpha = v / den
                r0 += alpha * dv0
                r1 += alpha * dv1
                r2 += alpha * dv2
                r3 += alpha * dv3
                if not detach:
                    s = v / (den * den)
                    r0 += s * (dv0 * (den - v) + v * dj0)
                    r1 += s * (dv1 * (den - v) + v * dj1)
                    r2 += s * (dv2 * (den - v) + v * dj2)
                    r3 += s * (dv3 * (den - v) + v * dj3)
        gi = g[i]
        out[i, 0], out[i, 1], out[i, 2], out[i, 3] = r0 * gi, r1 * gi, r2 * gi, r3 * gi


@implementation("giou_diou_ciou.backward", "numba", "fused")
def giou_backward(boxes_a: Any, boxes_b: Any, grad: Any, opts: GiouBackwardOptions) -> Any:
    """One fused analytic pass per row (prange), float64 registers."""
    dtype = check_backward(boxes_a, boxes_b, grad, opts)
    a = np.ascontiguousarray(boxes_a, dtype=np.float64)
    b = np.ascontiguousarray(boxes_b, dtype=np.float64)
    n = a.shape[0]
    g = np.asarray(grad, dtype=np.float64)
    if opts.reduction != "none":
        g = np.full(n, float(g) / (max(n, 1) if opts.reduction == "mean" else 1))
    out = np.empty((n, 4))
    metric = ("giou", "diou", "ciou").index(opts.metric)
    _kernel(a, b, np.ascontiguousarray(g), metric, opts.eps, opts.detach_alpha, out)
    return out.astype(dtype, copy=False)
