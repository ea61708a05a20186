"""focal_loss in CuPy: one fused ElementwiseKernel for 'none', one ReductionKernel (the same
per-element code, summed in float64) for the reductions; each element is read once.
"""

from __future__ import annotations

from typing import Any

import cupy as cp
import numpy as np

from harness import implementation
from suites.focal_loss import FocalOptions, check

_ELEMENT = """
    double xv = (double)x, yv = (double)y, p, ce;
    if (logits) {
        double e = exp(-fabs(xv));
        p = xv >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
        ce = (xv > 0 ? xv : 0.0) - xv * yv + log1p(e);
    } else {
        p = xv;
        double lp = log(p > eps ? p : eps), lq = log(1.0 - p > eps ? 1.0 - p : eps);
        ce = xv != xv ? xv : -(yv * lp + (1.0 - yv) * lq);
    }
    double q = p + yv - 2.0 * p * yv;
    double v = ce * (gamma == 2.0 ? q * q : pow(q, gamma));
    if (alpha >= 0) v *= (1.0 - alpha) + (2.0 * alpha - 1.0) * yv;
"""
_PARAMS = "T x, T y, float64 alpha, float64 gamma, bool logits, float64 eps"

_LOSS = cp.ElementwiseKernel(_PARAMS, "T out", _ELEMENT + "out = (T)v;", "opshootout_focal_loss")
# float64 per element is exact enough and costs little next to the memory traffic
_SUM = cp.ReductionKernel(
    _PARAMS,
    "float64 total",
    "_focal(x, y, alpha, gamma, logits, eps)",
    "a + b",
    "total = a",
    "0",
    "opshootout_focal_sum",
    preamble="template <typename T> __device__ double _focal(T x, T y, double alpha, "
    "double gamma, bool logits, double eps) {" + _ELEMENT + "return v; }",
)


@implementation("focal_loss", "cupy", "fused", supports={"form": ("sigmoid",)})
def focal_loss(inputs: Any, targets: Any, alpha: float, gamma: float, opts: FocalOptions) -> Any:
    """Fused elementwise kernel, or a fused reduction kernel accumulating in float64."""
    dtype = check(inputs, targets, alpha, gamma, opts)
    x, y = inputs.astype(dtype, copy=False), targets.astype(dtype, copy=False)
    args = (x, y, float(alpha), float(gamma), opts.input == "logits", opts.clip_eps)
    if opts.reduction == "none":
        out = cp.empty(x.shape, dtype=dtype)
        return _LOSS(*args, out) if out.size else out
    n, k = x.shape[0], x.size
    total = _SUM(*args) if k else cp.zeros((), dtype=np.float64)
    if opts.reduction == "mean":
        total = total / k if k else total * np.nan
    elif opts.reduction == "per_sample_mean":
        total = total / n if n else total * np.nan
    elif opts.reduction == "per_positive":
        positives = (y > 0).any(axis=1).sum() if k else cp.zeros((), dtype=np.int64)
        total = total / cp.maximum(positives, 1)
    return total.astype(dtype)
