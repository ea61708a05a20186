"""batchnorm_backward in NumPy: blocks of samples small enough for the cache; per block the
centred x - mean, the sums of dy and dy*(x - mean) by einsum (float64 per-channel totals),
then a second blocked pass writing dx = k1*dy - (k2*(x - mean) + k3).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.batchnorm_backward import BatchNormBackwardOptions, check_backward, inverse_std

BLOCK = 1 << 17  # elements per block: a block of dy, x and the centred temporary fits in L2


@implementation("batchnorm_backward", "numpy", "blocked")
def batchnorm_backward(dy: Any, x: Any, weight: Any, running_mean: Any, running_var: Any,
    saved_mean: Any, saved_stat: Any, opts: BatchNormBackwardOptions,
) -> tuple[Any, Any, Any]:  # fmt: skip
    """Two blocked passes over dy and x in their own dtype (float64 (C,) accumulators)."""
    n, c, l = check_backward(dy, x, weight, running_mean, running_var, saved_mean, saved_stat)
    dy3, x3 = dy.reshape(n, c, l), x.reshape(n, c, l)
    if opts.training:
        mean, invstd = saved_mean, inverse_std(saved_stat, opts)
    else:
        mean, invstd = running_mean, 1.0 / np.sqrt(running_var + x.dtype.type(opts.eps))
    m, step = mean[:, None], max(1, BLOCK // max(c * l, 1))
    blocks = [slice(i, i + step) for i in range(0, n, step)]
    sum_dy, sum_dy_xc = np.zeros(c), np.zeros(c)
    for b in blocks:
        sum_dy += np.einsum("ncl->c", dy3[b])
        sum_dy_xc += np.einsum("ncl,ncl->c", dy3[b], x3[b] - m)
    k1 = (weight * invstd).astype(x.dtype)[:, None]
    dx = np.multiply(dy3, k1)
    if opts.training:
        k = max(n * l, 1)
        k2 = (k1[:, 0] * invstd * invstd * sum_dy_xc / k).astype(x.dtype)[:, None]
        k3 = (k1[:, 0] * sum_dy / k).astype(x.dtype)[:, None]
        for b in blocks:
            xc = x3[b] - m
            xc *= k2
            xc += k3
            dx[b] -= xc
    dweight = (sum_dy_xc * invstd).astype(weight.dtype)
    return dx.reshape(x.shape), dweight, sum_dy.astype(weight.dtype)
