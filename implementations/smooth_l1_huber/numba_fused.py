"""smooth_l1_huber with Numba: one fused pass over pred and target, the loss of each element
written (none) or added to a float64 total (the reductions); branch-free with m = min(|d|, β),
so a huge d is never squared. One thread.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.smooth_l1_huber import SmoothL1Options, check

# no "nnan": a NaN difference must reach its loss (min(NaN, β) keeps the NaN)
_FAST = {"reassoc", "contract", "nsz", "arcp"}


@numba.njit(fastmath=_FAST, cache=False, error_model="numpy")
def _fused(p: Any, t: Any, b: Any, huber: bool, out: Any) -> float:
    write = out.size > 0
    half = b * 0 + 0.5  # 0.5 in pred's dtype
    scale = half if huber else (half / b if b > 0 else b * 0)
    slope = b if huber else b * 0 + 1
    total = 0.0
    for i in range(p.size):
        a = abs(p[i] - t[i])
        m = a if a != a else min(a, b)  # NaN stays NaN
        v = scale * m * m + slope * (a - m)
        if write:
            out[i] = v
        total += v
    return total


@implementation("smooth_l1_huber", "numba", "fused")
def smooth_l1_huber(pred: Any, target: Any, positive: Any, beta: Any,
                    opts: SmoothL1Options) -> Any:  # fmt: skip
    """One pass: subtract, abs, min(|d|, β), scale·m² + slope·(|d| - m); written or summed."""
    dtype = check(pred, target, positive, beta, opts)
    if opts.reduction == "per_positive":
        rows = np.asarray(positive, dtype=bool)
        pred, target = pred[rows], target[rows]
    p, t = np.ravel(pred), np.ravel(target)
    b = dtype.type(beta)
    huber = opts.loss == "huber"
    if opts.reduction == "none":
        out = np.empty(p.size, dtype)
        _fused(p, t, b, huber, out)
        return out.reshape(pred.shape)
    total = _fused(p, t, b, huber, np.empty(0, dtype))
    if opts.reduction == "sum":
        return np.asarray(total, dtype)
    if opts.reduction == "per_positive":
        return np.asarray(total / max(1, len(pred)), dtype)
    return np.asarray(total / p.size if p.size else np.nan, dtype)
