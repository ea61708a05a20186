"""batchnorm_forward_running_stats in NumPy: two-pass mean then variance over (N, L) of an
(N, C, L) view, einsum for the squared deviations, then one fused scale-and-shift pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.batchnorm_forward_running_stats import BatchNormOptions, batch_weight, check_batch


@implementation("batchnorm_forward_running_stats", "numpy", "two_pass")
def batchnorm(x: Any, weight: Any, bias: Any, running_mean: Any, running_var: Any,
    num_batches_tracked: int, opts: BatchNormOptions) -> tuple[Any, Any, Any]:  # fmt: skip
    """Mean, then mean of squared deviations (no E[x²] - E[x]² cancellation), in float32+."""
    n, c, l = check_batch(x, weight, bias, running_mean, running_var, num_batches_tracked, opts)
    compute = np.promote_types(x.dtype, np.float32)  # float16 x: float32 statistics
    x3 = x.reshape(n, c, l).astype(compute, copy=False)
    k = n * l
    if opts.training and k:
        mean = x3.sum(axis=(0, 2)) / compute.type(k)
        dev = x3 - mean[:, None]
        var = np.einsum("ncl,ncl->c", dev, dev) / compute.type(k)
        f = batch_weight(opts, num_batches_tracked)
        batch_var = var * compute.type(k / (k - 1)) if opts.unbiased_running_var else var
        new_mean = (1 - f) * running_mean + f * mean
        new_var = (1 - f) * running_var + f * batch_var
        scale = weight / np.sqrt(var + opts.eps)
        y = dev * scale[:, None] + bias[:, None]
    else:
        new_mean, new_var = running_mean.copy(), running_var.copy()
        scale = weight / np.sqrt(running_var + opts.eps)
        shift = bias - running_mean * scale
        y = x3 * scale[:, None] + shift[:, None]
    return (
        y.astype(x.dtype, copy=False).reshape(x.shape),
        new_mean.astype(running_mean.dtype, copy=False),
        new_var.astype(running_var.dtype, copy=False),
    )
