"""batchnorm_backward in pure Python: each (sample, channel) as one flat row of its L values;
per channel the two centred sums (math.fsum) and a comprehension per row for dx.
"""

from __future__ import annotations

import math
from typing import Any

from harness import implementation
from suites.batchnorm_backward import BatchNormBackwardOptions, check_backward, inverse_std
from suites.batchnorm_forward_running_stats import channel_rows, list_shape, restore_rows


@implementation("batchnorm_backward", "python", "loops", max_flops=10 * 4 * 32 * 28 * 28)
def batchnorm_backward(dy: Any, x: Any, weight: Any, running_mean: Any, running_var: Any,
    saved_mean: Any, saved_stat: Any, opts: BatchNormBackwardOptions,
) -> tuple[Any, Any, Any]:  # fmt: skip
    """Plain lists; the sums are exact (fsum) before one rounding."""
    n, c, l = check_backward(dy, x, weight, running_mean, running_var, saved_mean, saved_stat)
    if not x:  # [] is an empty batch of any shape
        return [], [0.0] * c, [0.0] * c
    shape = list_shape(x)
    gs, xs = channel_rows(dy, len(shape)), channel_rows(x, len(shape))
    k = max(n * l, 1)
    out: list[list[list[float]]] = [[[] for _ in range(c)] for _ in range(n)]
    dweight, dbias = [0.0] * c, [0.0] * c
    for ch in range(c):
        if opts.training:
            mean, r = saved_mean[ch], inverse_std(saved_stat[ch], opts, math)
        else:
            mean, r = running_mean[ch], 1.0 / math.sqrt(running_var[ch] + opts.eps)
        pairs = [(gs[i][ch], xs[i][ch]) for i in range(n)]  # dy's and x's row of sample i
        s = math.fsum(v for g_row, _ in pairs for v in g_row)
        t = math.fsum(
            g * (v - mean) for g_row, x_row in pairs for g, v in zip(g_row, x_row, strict=True)
        )
        k1 = weight[ch] * r
        k2, k3 = (k1 * r * r * t / k, k1 * s / k) if opts.training else (0.0, 0.0)
        for i, (g_row, x_row) in enumerate(pairs):
            out[i][ch] = [g * k1 - (v - mean) * k2 - k3 for g, v in zip(g_row, x_row, strict=True)]
        dweight[ch], dbias[ch] = t * r, s
    return restore_rows(out, shape), dweight, dbias
