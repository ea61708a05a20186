"""batchnorm_forward_running_stats in pure Python: per channel, a sum pass, a squared-deviation
pass and a normalise pass over nested lists (math.fsum keeps the sums exact before rounding).
"""

from __future__ import annotations

import math
from typing import Any

from harness import implementation
from suites.batchnorm_forward_running_stats import (
    ARGS,
    BatchNormOptions,
    batch_dims,
    batch_weight,
    channel_rows,
    list_shape,
    restore_rows,
)


@implementation(
    "batchnorm_forward_running_stats",
    "python",
    "loops",
    max_flops=8 * 8 * 32 * 28 * 28,  # bench_8x32x28x28, ~0.1 s
)
def batchnorm(x: Any, weight: Any, bias: Any, running_mean: Any, running_var: Any,
    num_batches_tracked: int, opts: BatchNormOptions) -> tuple[Any, Any, Any]:  # fmt: skip
    """Three loops per channel over plain lists; statistics summed with math.fsum."""
    ARGS.check(x, weight, bias, running_mean, running_var, num_batches_tracked)
    shape = list_shape(x) if x else (0, len(weight))  # [] is an empty batch of any shape
    n, c, l = batch_dims(shape, opts)
    rows = channel_rows(x, len(shape))
    f = batch_weight(opts, num_batches_tracked)
    k = n * l
    new_mean, new_var = list(running_mean), list(running_var)
    out: list[list[list[float]]] = [[[] for _ in range(c)] for _ in range(n)]
    for ch in range(c):
        mean, var = running_mean[ch], running_var[ch]
        if opts.training and k:
            mean = math.fsum(v for i in range(n) for v in rows[i][ch]) / k
            var = math.fsum((v - mean) ** 2 for i in range(n) for v in rows[i][ch]) / k
            batch_var = var * k / (k - 1) if opts.unbiased_running_var else var
            new_mean[ch] = (1 - f) * running_mean[ch] + f * mean
            new_var[ch] = (1 - f) * running_var[ch] + f * batch_var
        scale = weight[ch] / math.sqrt(var + opts.eps)
        shift = bias[ch] - mean * scale
        for i in range(n):
            out[i][ch] = [v * scale + shift for v in rows[i][ch]]
    return restore_rows(out, shape), new_mean, new_var
