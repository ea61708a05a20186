"""focal_loss with Numba: one fused pass, each element read once and its loss written (or
summed in float64) straight away; no temporaries at all.

Per element: one exp shared by the sigmoid and the softplus, one log1p, the power as a
multiplication for γ = 2. Reductions accumulate in float64 and also count positive rows.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.focal_loss import FocalOptions, check


@numba.njit(cache=False)
def _kernel(
    x: Any, y: Any, out: Any, alpha: float, gamma: float, logits: bool, eps: float, keep: bool
) -> tuple[float, int]:
    n, c = x.shape
    total = 0.0
    positives = 0
    a1, a0 = 2.0 * alpha - 1.0, 1.0 - alpha
    square = gamma == 2.0
    for i in range(n):
        row_pos = False
        for j in range(c):
            xv = x[i, j]
            yv = y[i, j]
            row_pos = row_pos or yv > 0
            if logits:
                e = math.exp(-abs(xv))
                p = 1.0 / (1.0 + e) if xv >= 0 else e / (1.0 + e)
                ce = (xv if xv > 0 else 0.0) - xv * yv + math.log1p(e)
            else:
                p = xv
                lp = math.log(p if p > eps else eps)
                lq = math.log(1.0 - p if 1.0 - p > eps else eps)
                ce = -(yv * lp + (1.0 - yv) * lq)
                if xv != xv:
                    ce = xv
            q = p + yv - 2.0 * p * yv
            f = q * q if square else q**gamma
            v = ce * f
            if alpha >= 0:
                v *= a0 + a1 * yv
            if keep:
                out[i, j] = v
            else:
                total += v
        positives += row_pos
    return total, positives


@implementation("focal_loss", "numba", "fused", supports={"form": ("sigmoid",)})
def focal_loss(inputs: Any, targets: Any, alpha: float, gamma: float, opts: FocalOptions) -> Any:
    """One pass per element, no temporaries; float64 sums for the reductions."""
    dtype = check(inputs, targets, alpha, gamma, opts)
    x = np.ascontiguousarray(inputs, dtype=dtype)
    y = np.ascontiguousarray(targets, dtype=dtype)
    n, c = x.shape
    keep = opts.reduction == "none"
    out = np.empty((n, c) if keep else (0, 0), dtype=dtype)
    eps = opts.clip_eps
    total, positives = _kernel(
        x, y, out, float(alpha), float(gamma), opts.input == "logits", eps, keep
    )
    if keep:
        return out
    k = n * c
    if opts.reduction == "sum":
        value = total
    elif opts.reduction == "mean":
        value = total / k if k else math.nan
    elif opts.reduction == "per_sample_mean":
        value = total / n if n else math.nan
    else:
        value = total / max(1, positives)
    return np.asarray(value, dtype=dtype)
