"""grad_norm_clipping in NumPy: per-tensor sums of |g|^p without temporaries where a kernel
exists (p = 2: a BLAS dot of the flat gradient with itself; p = inf: max and min; p = 1 and
other p: one temporary per tensor), combined into the total norm in float64; then one in-place
multiply (or clip) per tensor, skipped when the coefficient is 1."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from harness import implementation
from suites.grad_norm_clipping import ClipOptions, check


def _power_sum(g: Any, p: float) -> float:
    """sum |g|^p of one tensor (p = inf: max |g|), NaN propagating."""
    flat = g.reshape(-1)
    if flat.size == 0:
        return 0.0
    if p == math.inf:
        return float(max(flat.max(), -flat.min())) if not np.isnan(flat.max()) else math.nan
    if p == 2.0:
        return float(np.dot(flat, flat))
    if p == 1.0:
        return float(np.abs(flat).sum(dtype=np.float64 if flat.dtype == np.float64 else None))
    return float(np.sum(np.abs(flat) ** p))


@implementation("grad_norm_clipping", "numpy", "blas")
def clip(grads: Any, has_grad: Any, threshold: Any, opts: ClipOptions) -> Any:
    """Per-tensor power sums (BLAS dot for p = 2), one float64 combine, in-place scaling."""
    check(grads, has_grad, threshold)
    present = [g for g, h in zip(grads, has_grad.tolist(), strict=True) if h]
    dtype = present[0].dtype if present else np.dtype(np.float32)  # as torch.tensor(0.0)
    p = opts.norm_type
    sums = [_power_sum(g, p) for g in present]
    if p == math.inf:
        total = max(sums, default=0.0) if not any(math.isnan(s) for s in sums) else math.nan
    else:
        total = math.fsum(sums) ** (1.0 / p) if not any(math.isnan(s) for s in sums) else math.nan
    norm = np.array(total, dtype=dtype)  # the float64 sum rounded once to the gradients' dtype
    if opts.mode == "value":
        t = float(threshold)
        for g in present:
            np.clip(g, -t, t, out=g)
        return norm
    if opts.error_if_nonfinite and not math.isfinite(float(norm)):
        raise RuntimeError(f"the total norm of order {p} is non-finite")
    with np.errstate(divide="ignore", invalid="ignore"):
        coef = np.float64(threshold) / (np.float64(norm) + opts.eps)
    if not coef >= 1.0:  # NaN scales too
        scale = dtype.type(coef)
        for g in present:
            g *= scale
    return norm
