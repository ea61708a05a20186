"""batchnorm_forward_running_stats in NumPy: two-pass mean then variance over (N, L) of an
(N, C, L) view, einsum for the squared deviations, then one fused scale-and-shift pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.batchnorm_forward_running_stats import OPTIONS, batch_weight, validate_batchnorm


@implementation("batchnorm_forward_running_stats", "numpy", "two_pass", supports=OPTIONS)
def batchnorm(
    x: Any,
    weight: Any,
    bias: Any,
    running_mean: Any,
    running_var: Any,
    num_batches_tracked: int,
    *,
    training: bool = True,
    momentum: float | None = 0.1,
    eps: float = 1e-5,
    momentum_convention: str = "torch",
    unbiased_running_var: bool = True,
) -> tuple[Any, Any, Any]:
    """Mean, then mean of squared deviations (no E[x²] - E[x]² cancellation), in float32+."""
    shapes = [a.shape for a in (x, weight, bias, running_mean, running_var)]
    n, c, l = validate_batchnorm(
        shapes, num_batches_tracked, training, momentum, eps, momentum_convention
    )
    compute = np.promote_types(x.dtype, np.float32)  # float16 x: float32 statistics
    x3 = x.reshape(n, c, l).astype(compute, copy=False)
    k = n * l
    if training and k:
        mean = x3.sum(axis=(0, 2)) / compute.type(k)
        dev = x3 - mean[:, None]
        var = np.einsum("ncl,ncl->c", dev, dev) / compute.type(k)
        f = batch_weight(momentum, momentum_convention, num_batches_tracked)
        batch_var = var * compute.type(k / (k - 1)) if unbiased_running_var else var
        new_mean = (1 - f) * running_mean + f * mean
        new_var = (1 - f) * running_var + f * batch_var
        scale = weight / np.sqrt(var + eps)
        y = dev * scale[:, None] + bias[:, None]
    else:
        new_mean, new_var = running_mean.copy(), running_var.copy()
        scale = weight / np.sqrt(running_var + eps)
        shift = bias - running_mean * scale
        y = x3 * scale[:, None] + shift[:, None]
    return (
        y.astype(x.dtype, copy=False).reshape(x.shape),
        new_mean.astype(running_mean.dtype, copy=False),
        new_var.astype(running_var.dtype, copy=False),
    )
