"""l1_l2_penalty in CuPy: per parameter one fused ReductionKernel for λ₁|w| + λ₂w² (float64
accumulation) and one ElementwiseKernel writing λ₁·sign(w) + 2λ₂·w.
"""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.l1_l2_penalty import PenaltyOptions, check, penalised

_TERMS = cp.ReductionKernel(
    "T w, float64 a, float64 b", "float64 r", "a * fabs((double)w) + b * (double)w * (double)w",
    "x + y", "r = x", "0", "opshootout_l1_l2_terms",
)  # fmt: skip
_GRAD = cp.ElementwiseKernel(
    "T w, T a, T b2", "T g",
    "g = (w > 0 ? a : (w < 0 ? -a : (w != w ? w : (T)0))) + b2 * w",
    "opshootout_l1_l2_grad",
)  # fmt: skip


@implementation("l1_l2_penalty", "cupy", "fused")
def l1_l2_penalty(params: Any, is_weight: Any, l1: Any, l2: Any, opts: PenaltyOptions) -> Any:
    """Two fused kernels per penalised parameter; R summed on the device."""
    dtype = check(params, is_weight, l1, l2)
    a, b = float(l1), float(l2)
    total = cp.zeros((), cp.float64)
    grads = []
    for w, on in zip(params, penalised(is_weight, len(params), opts), strict=True):
        if not on:
            grads.append(cp.zeros_like(w))
            continue
        total += _TERMS(w, a, b)
        grads.append(_GRAD(w, w.dtype.type(a), w.dtype.type(2 * b)))
    return total.astype(dtype or cp.float64), grads
