"""batchnorm_backward in CuPy: sum dy by cupy.sum, sum dy*(x - mean) by one ReductionKernel
(centred, broadcast per-channel mean), then dx = k1*dy - k2*(x - mean) - k3 as one
ElementwiseKernel over an (N, C, L) view.
"""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.batchnorm_backward import BatchNormBackwardOptions, check_backward, inverse_std

_dot = cp.ReductionKernel(
    "T dy, T x, T mean", "T out", "dy * (x - mean)", "a + b", "out = a", "0", "bn_backward_dot"
)
_dx = cp.ElementwiseKernel(
    "T dy, T x, T mean, T k1, T k2, T k3",
    "T dx",
    "dx = dy * k1 - (x - mean) * k2 - k3",
    "bn_backward_dx",
)


@implementation("batchnorm_backward", "cupy", "kernels")
def batchnorm_backward(dy: Any, x: Any, weight: Any, running_mean: Any, running_var: Any,
    saved_mean: Any, saved_stat: Any, opts: BatchNormBackwardOptions,
) -> tuple[Any, Any, Any]:  # fmt: skip
    """Three kernels over the data: the two sums, then the fused dx."""
    n, c, l = check_backward(dy, x, weight, running_mean, running_var, saved_mean, saved_stat)
    dy3, x3 = dy.reshape(n, c, l), x.reshape(n, c, l)
    if opts.training:
        mean, invstd = saved_mean, inverse_std(saved_stat, opts, cp)
    else:
        mean, invstd = running_mean, 1.0 / cp.sqrt(running_var + opts.eps)
    m = mean.reshape(1, c, 1)
    sum_dy = dy3.sum(axis=(0, 2))
    sum_dy_xc = _dot(dy3, x3, m, axis=(0, 2))
    k = max(n * l, 1)
    k1 = weight * invstd
    zero = cp.zeros_like(k1)
    k2 = k1 * invstd * invstd * sum_dy_xc / k if opts.training else zero
    k3 = k1 * sum_dy / k if opts.training else zero
    dx = _dx(dy3, x3, m, *(v.reshape(1, c, 1) for v in (k1, k2, k3)))
    return dx.reshape(x.shape), sum_dy_xc * invstd, sum_dy
