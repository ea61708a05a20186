"""batchnorm_forward_running_stats in torch (CPU or CUDA): torch.var_mean over (N, L) of an
(N, C, L) view for the statistics, then one addcmul for y = x·scale + shift.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.batchnorm_forward_running_stats import BatchNormOptions, batch_weight, check_batch


@implementation("batchnorm_forward_running_stats", ("torch_cpu", "torch_cuda"), "var_mean")
def batchnorm(x: Any, weight: Any, bias: Any, running_mean: Any, running_var: Any,
    num_batches_tracked: int, opts: BatchNormOptions) -> tuple[Any, Any, Any]:  # fmt: skip
    """Device-agnostic: float16 x is promoted to float32 for the statistics and for y."""
    n, c, l = check_batch(x, weight, bias, running_mean, running_var, num_batches_tracked, opts)
    compute = torch.promote_types(x.dtype, torch.float32)
    x3 = x.reshape(n, c, l).to(compute)
    k = n * l
    if opts.training and x3.numel():  # no channels or no values: nothing to reduce
        var, mean = torch.var_mean(x3, dim=(0, 2), correction=0)
        f = batch_weight(opts, num_batches_tracked)
        batch_var = var * (k / (k - 1)) if opts.unbiased_running_var else var
        new_mean = running_mean * (1 - f) + mean.to(running_mean.dtype) * f
        new_var = running_var * (1 - f) + batch_var.to(running_var.dtype) * f
    else:
        mean, var = running_mean.to(compute), running_var.to(compute)
        new_mean, new_var = running_mean.clone(), running_var.clone()
    scale = weight.to(compute) * torch.rsqrt(var + opts.eps)
    shift = bias.to(compute) - mean * scale
    y = torch.addcmul(shift[:, None], x3, scale[:, None])
    return y.to(x.dtype).reshape(x.shape), new_mean, new_var
