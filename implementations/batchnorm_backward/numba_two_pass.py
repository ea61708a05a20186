"""batchnorm_backward in Numba: one compiled kernel, channels in parallel; per channel a pass
summing dy and dy*(x - mean) (centred, float64 accumulators), then a pass writing dx.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from harness.numba_threads import threaded_njit
from suites.batchnorm_backward import BatchNormBackwardOptions, check_backward, inverse_std


@numba.njit(fastmath={"reassoc"}, cache=False)
def _sums(dy: Any, x: Any, ch: int, m: Any) -> tuple[float, float]:  # pragma: no cover
    """sum dy and sum dy*(x - m) over channel ch; reassoc (alone: NaN still propagates) lets
    LLVM keep several float64 partial sums in vector lanes. Only here: dx keeps its order."""
    n, _, l = x.shape
    s = 0.0
    t = 0.0
    for i in range(n):
        for j in range(l):
            g = np.float64(dy[i, ch, j])
            s += g
            t += g * (x[i, ch, j] - m)
    return s, t


@threaded_njit()
def _kernel(dy: Any, x: Any, weight: Any, mean: Any, invstd: Any, training: bool, dx: Any,
    dweight: Any, dbias: Any) -> None:  # fmt: skip  # pragma: no cover - compiled
    n, c, l = x.shape
    k = max(n * l, 1)
    for ch in numba.prange(c):
        m = mean[ch]
        s, t = _sums(dy, x, ch, m)
        r = np.float64(invstd[ch])
        dbias[ch] = s
        dweight[ch] = t * r
        k1 = weight[ch] * r
        k2 = k1 * r * r * t / k if training else 0.0
        k3 = k1 * s / k if training else 0.0
        a, b, d = dx.dtype.type(k1), dx.dtype.type(k2), dx.dtype.type(k3)
        for i in range(n):
            for j in range(l):
                dx[i, ch, j] = dy[i, ch, j] * a - (x[i, ch, j] - m) * b - d


@implementation("batchnorm_backward", "numba", "two_pass")
def batchnorm_backward(dy: Any, x: Any, weight: Any, running_mean: Any, running_var: Any,
    saved_mean: Any, saved_stat: Any, opts: BatchNormBackwardOptions,
) -> tuple[Any, Any, Any]:  # fmt: skip
    """Reads dy and x twice, writes dx once (the 5b per element of the cost model)."""
    n, c, l = check_backward(dy, x, weight, running_mean, running_var, saved_mean, saved_stat)
    if opts.training:
        mean, invstd = saved_mean, inverse_std(saved_stat, opts)
    else:
        mean, invstd = running_mean, 1.0 / np.sqrt(running_var + x.dtype.type(opts.eps))
    dx = np.empty((n, c, l), dtype=x.dtype)
    dweight, dbias = np.empty_like(weight), np.empty_like(weight)
    _kernel(np.ascontiguousarray(dy.reshape(n, c, l)), np.ascontiguousarray(x.reshape(n, c, l)),
            weight, mean, invstd, opts.training, dx, dweight, dbias)  # fmt: skip
    return dx.reshape(x.shape), dweight, dbias
