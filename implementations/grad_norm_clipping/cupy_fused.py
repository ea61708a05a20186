"""grad_norm_clipping in CuPy without a host synchronisation: one ReductionKernel per tensor
accumulates sum |g|^p (or max |g|) in float64 into a slot of a device vector, a second tiny
reduction makes the total and the clamped coefficient on the device, and one
ElementwiseKernel per tensor multiplies by it (or clamps, in value mode). The error check,
when asked for, is the one synchronisation."""

from __future__ import annotations

import math
from typing import Any

import cupy as cp

from harness import implementation
from suites.grad_norm_clipping import ClipOptions, check

_POWER_SUM = cp.ReductionKernel(
    "T g, float64 p", "float64 s", "pow(fabs((double)g), p)", "a + b", "s = a", "0",
    "opshootout_power_sum",
)  # fmt: skip
_SQUARE_SUM = cp.ReductionKernel(
    "T g", "float64 s", "(double)g * (double)g", "a + b", "s = a", "0", "opshootout_square_sum"
)
_MAX_ABS = cp.ReductionKernel(
    "T g", "float64 s", "fabs((double)g)", "(a != a || a > b) ? a : b", "s = a", "0",
    "opshootout_max_abs",
)  # fmt: skip
_SCALE = cp.ElementwiseKernel("raw float64 coef", "T g", "g = (T)coef[0] * g", "opshootout_scale")
_CLAMP = cp.ElementwiseKernel(
    "T t", "T g", "g = g != g ? g : (g < -t ? -t : (g > t ? t : g))", "opshootout_clamp"
)


@implementation("grad_norm_clipping", "cupy", "fused")
def clip(grads: Any, has_grad: Any, threshold: Any, opts: ClipOptions) -> Any:
    """Per-tensor float64 reductions into a device vector; coefficient on the device."""
    check(grads, has_grad, threshold)
    present = [g for g, h in zip(grads, has_grad.tolist(), strict=True) if h and g.size]
    if not present:
        return cp.zeros((), dtype=cp.float32)
    p, dtype = opts.norm_type, present[0].dtype
    sums = cp.empty(len(present), dtype=cp.float64)
    for k, g in enumerate(present):
        if p == math.inf:
            _MAX_ABS(g.reshape(-1), sums[k])
        elif p == 2.0:
            _SQUARE_SUM(g.reshape(-1), sums[k])
        else:
            _POWER_SUM(g.reshape(-1), p, sums[k])
    if p == math.inf:
        total = cp.where(cp.isnan(sums).any(), cp.nan, sums.max())
    else:
        total = sums.sum() ** (1.0 / p)
    norm = total.astype(dtype)
    if opts.mode == "value":
        for g in present:
            _CLAMP(dtype.type(float(threshold)), g)
        return norm
    if opts.error_if_nonfinite and not bool(cp.isfinite(norm)):
        raise RuntimeError(f"the total norm of order {p} is non-finite")
    coef = threshold / (norm.astype(cp.float64) + opts.eps)
    coef = cp.where(coef >= 1.0, 1.0, coef).reshape(1)  # NaN stays NaN
    for g in present:
        _SCALE(coef, g)
    return norm
