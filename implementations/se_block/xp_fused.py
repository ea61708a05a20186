"""se_block through the array API: one reduction pass, two tiny GEMMs, one scaling pass.

One code for NumPy, torch (CPU and CUDA) and CuPy via array-api-compat: the channel means
come from one reduction over the flattened planes, the bottleneck runs for all samples at
once as (N, C)·(C, D) and (N, D)·(D, C) products, and y = x·s is one broadcast multiply
into a fresh array. Everything stays in the input dtype.
"""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace

from harness import implementation
from suites.se_block import SeOptions, check


@implementation("se_block", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "fused")
def se(x: Any, w1: Any, b1: Any, w2: Any, b2: Any, reduction: int, opts: SeOptions) -> Any:
    """mean over H·W -> ReLU(z·w1ᵀ + b1)·w2ᵀ + b2 -> gate -> x·s[..., None, None]."""
    check(x, w1, b1, w2, b2, reduction, opts)
    xp = array_namespace(x, w1, w2)
    n, c, h, w = x.shape
    z = xp.mean(xp.reshape(x, (n, c, h * w)), axis=2)  # H·W = 0: NaN, y is empty anyway
    hidden = xp.matmul(z, xp.matrix_transpose(w1))
    if b1 is not None:
        hidden += b1
    hidden = xp.maximum(hidden, xp.zeros_like(hidden))  # ReLU (NaN propagates)
    t = xp.matmul(hidden, xp.matrix_transpose(w2))
    if b2 is not None:
        t += b2
    hard = opts.gate == "hard_sigmoid"  # sigmoid: exp overflow -> 1/inf = 0, as it should
    s = xp.clip(t + 3.0, 0.0, 6.0) / 6.0 if hard else 1.0 / (1.0 + xp.exp(-t))
    return x * s[:, :, None, None]
