"""batchnorm_backward in torch (CPU or CUDA): x - mean once, the two sums as dy.sum and a
batched matmul of (1, L) by (L, 1) rows (no product temporary), then dx written into the
centred temporary with two addcmul passes.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.batchnorm_backward import BatchNormBackwardOptions, check_backward, inverse_std


@implementation("batchnorm_backward", ("torch_cpu", "torch_cuda"), "centred")
def batchnorm_backward(dy: Any, x: Any, weight: Any, running_mean: Any, running_var: Any,
    saved_mean: Any, saved_stat: Any, opts: BatchNormBackwardOptions,
) -> tuple[Any, Any, Any]:  # fmt: skip
    """Device-agnostic; dx = k1*dy - k2*(x - mean) - k3 per channel."""
    n, c, l = check_backward(dy, x, weight, running_mean, running_var, saved_mean, saved_stat)
    dy3, x3 = dy.reshape(n, c, l), x.reshape(n, c, l)
    if opts.training:
        mean, invstd = saved_mean, inverse_std(saved_stat, opts, torch)
    else:
        mean, invstd = running_mean, torch.rsqrt(running_var + opts.eps)
    xc = x3 - mean[:, None]
    sum_dy = dy3.sum(dim=(0, 2))
    sum_dy_xc = torch.matmul(dy3.unsqueeze(2), xc.unsqueeze(3)).sum(dim=(0, 2, 3))
    k = max(n * l, 1)
    k1 = weight * invstd
    if opts.training:
        k2, k3 = k1 * invstd * invstd * sum_dy_xc / k, k1 * sum_dy / k
        torch.addcmul(-k3[:, None], xc, -k2[:, None], out=xc)
        dx = xc.addcmul_(dy3, k1[:, None])
    else:
        dx = dy3 * k1[:, None]
    return dx.reshape(x.shape), sum_dy_xc * invstd, sum_dy
