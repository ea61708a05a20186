"""batchnorm_forward_running_stats in Numba: one compiled kernel, channels in parallel; each
channel does a sum pass and a squared-deviation pass (float64 accumulators) and then writes y.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from harness import implementation
from harness.numba_threads import threaded_njit
from suites.batchnorm_forward_running_stats import BatchNormOptions, batch_weight, check_batch


@threaded_njit()
def _kernel(
    x: Any,
    weight: Any,
    bias: Any,
    running_mean: Any,
    running_var: Any,
    training: bool,
    f: float,
    eps: float,
    unbiased: bool,
    y: Any,
    new_mean: Any,
    new_var: Any,
) -> None:  # pragma: no cover - compiled
    n, c, l = x.shape
    k = n * l
    for ch in numba.prange(c):
        mean = np.float64(running_mean[ch])
        var = np.float64(running_var[ch])
        new_mean[ch] = running_mean[ch]
        new_var[ch] = running_var[ch]
        if training and k > 0:
            s = 0.0
            for i in range(n):
                for j in range(l):
                    s += x[i, ch, j]
            mean = s / k
            q = 0.0
            for i in range(n):
                for j in range(l):
                    d = x[i, ch, j] - mean
                    q += d * d
            var = q / k
            batch_var = var * k / (k - 1) if unbiased else var
            new_mean[ch] = (1.0 - f) * running_mean[ch] + f * mean
            new_var[ch] = (1.0 - f) * running_var[ch] + f * batch_var
        scale = weight[ch] / math.sqrt(var + eps)
        shift = bias[ch] - mean * scale
        for i in range(n):
            for j in range(l):
                y[i, ch, j] = x[i, ch, j] * scale + shift


@implementation("batchnorm_forward_running_stats", "numba", "fused")
def batchnorm(x: Any, weight: Any, bias: Any, running_mean: Any, running_var: Any,
    num_batches_tracked: int, opts: BatchNormOptions) -> tuple[Any, Any, Any]:  # fmt: skip
    """The kernel reads x twice for the statistics and once for y."""
    n, c, l = check_batch(x, weight, bias, running_mean, running_var, num_batches_tracked, opts)
    compute = np.promote_types(x.dtype, np.float32)  # Numba has no float16 arithmetic
    x3 = np.ascontiguousarray(x.reshape(n, c, l), dtype=compute)
    y = np.empty((n, c, l), dtype=compute)
    new_mean = np.empty_like(running_mean)
    new_var = np.empty_like(running_var)
    f = batch_weight(opts, num_batches_tracked)
    _kernel(
        x3,
        weight,
        bias,
        running_mean,
        running_var,
        opts.training,
        float(f),
        float(opts.eps),
        opts.unbiased_running_var,
        y,
        new_mean,
        new_var,
    )
    return y.astype(x.dtype, copy=False).reshape(x.shape), new_mean, new_var
