"""l1_l2_penalty in NumPy: each parameter in flat chunks of 64K values; per chunk the
gradient written as 2λ₂·w, sign(w)·λ₁ added from one scratch buffer, and the chunk's Σ|w|
(abs into the scratch) and Σw² (BLAS dot) added to float64 totals.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.l1_l2_penalty import PenaltyOptions, check, penalised

CHUNK = 1 << 16  # values: a float32 chunk of w, its gradient and the scratch fit in L2


def _one(w: Any, a: float, b: float, grad: Any, buf: Any) -> float:
    """Write λ₁·sign(w) + 2λ₂·w into grad (flat); return λ₁·Σ|w| + λ₂·Σw²."""
    t = w.dtype.type
    abs_sum, sq_sum = 0.0, 0.0
    for i in range(0, w.size, CHUNK):
        x, g = w[i : i + CHUNK], grad[i : i + CHUNK]
        s = buf[: len(x)]
        np.multiply(x, t(2 * b), out=g)
        np.sign(x, out=s)
        s *= t(a)
        g += s
        sq_sum += float(np.dot(x, x))
        abs_sum += float(np.abs(x, out=s).sum())
    return a * abs_sum + b * sq_sum


@implementation("l1_l2_penalty", "numpy", "chunked")
def l1_l2_penalty(params: Any, is_weight: Any, l1: Any, l2: Any, opts: PenaltyOptions) -> Any:
    """Chunked, in place on the gradient and one scratch buffer per dtype."""
    dtype = check(params, is_weight, l1, l2)
    a, b = float(l1), float(l2)
    total, grads = 0.0, []
    bufs: dict[Any, Any] = {}
    for w, on in zip(params, penalised(is_weight, len(params), opts), strict=True):
        grad = np.zeros_like(w) if not on else np.empty_like(w)
        if on:
            buf = bufs.setdefault(w.dtype, np.empty(CHUNK, w.dtype))
            with np.errstate(invalid="ignore"):
                total += _one(w.reshape(-1), a, b, grad.reshape(-1), buf)
        grads.append(grad)
    return np.asarray(total, dtype), grads
