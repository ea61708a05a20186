"""smooth_l1_huber in NumPy: chunks of 64K elements, every step an in-place ufunc on two
chunk-sized buffers, the branch-free form with m = min(|d|, β):
smooth L1 = 0.5·m²/β + (|d| - m), Huber = 0.5·m² + β·(|d| - m) (no d² of a huge d, and
NaN flows through the minimum). Each chunk's sum is added in float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.smooth_l1_huber import SmoothL1Options, check

_CHUNK = 1 << 16  # elements: two float32 buffers of 256 KB, inside L2


def _losses(p: np.ndarray, t: np.ndarray, beta: float, huber: bool, out: np.ndarray) -> float:
    """Write the elementwise losses of the flat p - t into ``out`` (or scratch when it is
    empty); return their float64 sum."""
    dtype = p.dtype
    b = dtype.type(beta)
    a_buf = np.empty(min(_CHUNK, p.size), dtype)
    m_buf = np.empty_like(a_buf)
    total = 0.0
    for i0 in range(0, p.size, _CHUNK):
        a = np.subtract(
            p[i0 : i0 + _CHUNK], t[i0 : i0 + _CHUNK], out=a_buf[: min(_CHUNK, p.size - i0)]
        )
        np.abs(a, out=a)
        dst = out[i0 : i0 + _CHUNK] if out.size else a
        if beta == 0.0 and not huber:  # pure L1
            if out.size:
                dst[...] = a
        else:
            m = np.minimum(a, b, out=m_buf[: len(a)])
            np.subtract(a, m, out=a)  # the linear excess |d| - m
            np.multiply(m, m, out=m)
            if huber:
                np.multiply(a, b, out=a)
                np.multiply(m, dtype.type(0.5), out=m)
            else:
                np.multiply(m, dtype.type(0.5) / b, out=m)
            np.add(m, a, out=dst)
        total += float(dst.sum(dtype=np.float64))
    return total


@implementation("smooth_l1_huber", "numpy", "chunked")
def smooth_l1_huber(pred: Any, target: Any, positive: Any, beta: Any,
                    opts: SmoothL1Options) -> Any:  # fmt: skip
    """64K-element chunks, branch-free min(|d|, β) form, in place on two buffers."""
    dtype = check(pred, target, positive, beta, opts)
    huber, b = opts.loss == "huber", float(beta)
    if opts.reduction == "per_positive":
        rows = np.asarray(positive, dtype=bool)
        pred, target = pred[rows], target[rows]
    p, t = np.ravel(pred), np.ravel(target)
    with np.errstate(invalid="ignore", over="ignore"):
        if opts.reduction == "none":
            out = np.empty(p.size, dtype)
            _losses(p, t, b, huber, out)
            return out.reshape(pred.shape)
        total = _losses(p, t, b, huber, np.empty(0, dtype))
    if opts.reduction == "sum":
        return np.asarray(total, dtype)
    if opts.reduction == "per_positive":
        return np.asarray(total / max(1, len(pred)), dtype)  # the positive rows
    return np.asarray(total / p.size if p.size else np.nan, dtype)
