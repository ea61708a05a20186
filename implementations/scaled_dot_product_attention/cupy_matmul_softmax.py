"""scaled_dot_product_attention in CuPy: batched matmul (cuBLAS) and a fused softmax kernel.

Scores are materialised for a block of query rows; one ReductionKernel finds each row's max
and the exp / normalise steps run in place, so a block costs two matmuls and three passes.
"""

from __future__ import annotations

import math
from typing import Any

import cupy as cp

from harness import implementation
from suites.scaled_dot_product_attention import (
    OPTIONS,
    causal_offset,
    validate_attention,
    validate_options,
)

_BLOCK_ELEMENTS = 1 << 26  # scores per block: 256 MiB in float32

# exp(x - m) in place, with m = 0 where the whole row is -inf (a fully masked row stays 0)
_SHIFTED_EXP = cp.ElementwiseKernel(
    "T m", "T x", "x = exp(x - ((isinf(m) && m < 0) ? (T)0 : m))", "opshootout_sdpa_shifted_exp"
)


def _bias(
    mask: Any, mask_true_means: str, is_causal: bool, offset: int, L: int, S: int, dtype: Any
) -> Any:
    """Mask and causality as one additive 0 / -inf bias in the compute dtype, or None."""
    bias = None
    if mask is not None and mask.dtype == cp.bool_:
        keep = mask if mask_true_means == "attend" else ~mask
        bias = cp.where(keep, 0.0, -cp.inf).astype(dtype)
    elif mask is not None:
        bias = mask.astype(dtype, copy=False)
    if is_causal:
        keep = cp.arange(S)[None, :] <= cp.arange(L)[:, None] + offset
        plane = cp.where(keep, 0.0, -cp.inf).astype(dtype)
        bias = plane if bias is None else bias + plane
    if bias is not None:
        bias = bias.reshape((1,) * (4 - bias.ndim) + bias.shape)
    return bias


@implementation("scaled_dot_product_attention", "cupy", "matmul_softmax", supports=OPTIONS)
def attention(
    q: Any,
    k: Any,
    v: Any,
    mask: Any,
    scale: Any,
    *,
    mask_true_means: str = "blocked",
    fully_masked: str = "zero",
    is_causal: bool = False,
    causal_alignment: str = "top_left",
) -> Any:
    """cp.matmul for q·kᵀ and weights·v; max, shifted exp and row sums on the device."""
    validate_options(mask_true_means, fully_masked, causal_alignment)
    B, H, L, S, d, dv = validate_attention(q, k, v, mask, scale)
    dtype = q.dtype
    scale = dtype.type(1.0 / math.sqrt(d) if scale is None else scale)
    bias = _bias(
        mask, mask_true_means, is_causal, causal_offset(L, S, causal_alignment), L, S, dtype
    )
    dead_value = dtype.type(0 if fully_masked == "zero" else cp.nan)
    out = cp.empty((B, H, L, dv), dtype=dtype)
    if S == 0:
        out.fill(dead_value)
        return out
    kt = k.swapaxes(-1, -2)
    rows = max(1, _BLOCK_ELEMENTS // max(1, B * H * S))
    for lo in range(0, L, rows):
        hi = min(L, lo + rows)
        scores = cp.matmul(q[:, :, lo:hi], kt)
        scores *= scale
        if bias is not None:
            scores += bias[:, :, lo:hi] if bias.shape[2] > 1 else bias
        row_max = scores.max(axis=-1, keepdims=True)  # NaN propagates
        _SHIFTED_EXP(row_max, scores)
        block = cp.matmul(scores, v)
        block /= scores.sum(axis=-1, keepdims=True)  # dead rows: 0 / 0
        out[:, :, lo:hi] = cp.where(row_max == -cp.inf, dead_value, block)
    return out
