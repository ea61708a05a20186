"""batchnorm_forward_running_stats in CuPy: two-pass mean/variance with CuPy reductions over
(N, L) of an (N, C, L) view, then one ElementwiseKernel for y = x·scale + shift.
"""

from __future__ import annotations

from typing import Any

import cupy as cp
import numpy as np

from harness import implementation
from suites.batchnorm_forward_running_stats import BatchNormOptions, batch_weight, check_batch

# T: x's dtype (float16/32/64), S: the arithmetic dtype (float32 for float16 x).
_affine = cp.ElementwiseKernel(
    "T x, S scale, S shift", "T y", "y = (T)((S)x * scale + shift)", "batchnorm_affine"
)


@implementation("batchnorm_forward_running_stats", "cupy", "elementwise")
def batchnorm(x: Any, weight: Any, bias: Any, running_mean: Any, running_var: Any,
    num_batches_tracked: int, opts: BatchNormOptions) -> tuple[Any, Any, Any]:  # fmt: skip
    """Reductions in the promoted dtype, the normalise pass as a single fused kernel."""
    n, c, l = check_batch(x, weight, bias, running_mean, running_var, num_batches_tracked, opts)
    compute = np.promote_types(x.dtype, np.float32)  # float16 x: float32 statistics
    x3 = x.reshape(n, c, l)
    k = n * l
    if opts.training and k:
        mean = x3.mean(axis=(0, 2), dtype=compute)
        var = cp.square(x3.astype(compute, copy=False) - mean[:, None]).mean(axis=(0, 2))
        f = batch_weight(opts, num_batches_tracked)
        batch_var = var * (k / (k - 1)) if opts.unbiased_running_var else var
        new_mean = (running_mean * (1 - f) + mean * f).astype(running_mean.dtype, copy=False)
        new_var = (running_var * (1 - f) + batch_var * f).astype(running_var.dtype, copy=False)
    else:
        mean, var = running_mean.astype(compute), running_var.astype(compute)
        new_mean, new_var = running_mean.copy(), running_var.copy()
    scale = weight.astype(compute) / cp.sqrt(var + opts.eps)
    shift = bias.astype(compute) - mean * scale
    y = _affine(x3, scale[:, None], shift[:, None])
    return y.reshape(x.shape), new_mean, new_var
