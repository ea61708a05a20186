"""kl_divergence in NumPy: chunks of 64K elements, each term p·(log p - input) built in
place in two chunk-sized buffers (log p only where p > 0, so 0·log 0 = 0 without a NaN to
clean up); a chunk's terms are written (none) or summed in float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.kl_divergence import KlOptions, check

_CHUNK = 1 << 16  # elements: two float32 buffers of 256 KB, inside L2


def _terms(x: np.ndarray, t: np.ndarray, opts: KlOptions, out: np.ndarray) -> float:
    """Write the terms of the flat x (log q), t (p or log p) into ``out`` (scratch when it
    is empty); return their float64 sum."""
    n = x.size
    a_buf = np.empty(min(_CHUNK, n), x.dtype)
    b_buf = np.empty_like(a_buf)
    total = 0.0
    for i0 in range(0, n, _CHUNK):
        xs, ts = x[i0 : i0 + _CHUNK], t[i0 : i0 + _CHUNK]
        a, b = a_buf[: len(xs)], b_buf[: len(xs)]
        dst = out[i0 : i0 + _CHUNK] if out.size else a
        if opts.log_target:
            np.subtract(ts, xs, out=a)
            np.exp(ts, out=b)
            np.multiply(a, b, out=dst)
            zero = ts == -np.inf
        else:
            a[...] = 0
            np.log(ts, out=a, where=ts > 0)
            np.subtract(a, xs, out=a)
            np.multiply(a, ts, out=dst)
            zero = ts == 0
        if opts.zero_target == "zero":
            np.copyto(dst, 0, where=zero & ~np.isnan(xs))
        total += float(dst.sum(dtype=np.float64))
    return total


@implementation("kl_divergence", "numpy", "chunked")
def kl_divergence(input: Any, target: Any, opts: KlOptions) -> Any:
    """64K-element chunks, the terms in place, float64 chunk sums."""
    dtype = check(input, target, opts)
    x, t = np.ravel(input), np.ravel(target)
    with np.errstate(all="ignore"):
        if opts.reduction == "none":
            out = np.empty(x.size, dtype)
            _terms(x, t, opts, out)
            return out.reshape(input.shape)
        total = _terms(x, t, opts, np.empty(0, dtype))
        if opts.reduction == "sum":
            return np.asarray(total, dtype)
        count = x.size if opts.reduction == "mean" else input.shape[0]
        return np.asarray(total / count if count else np.nan, dtype)
