"""scaled_dot_product_attention in NumPy: materialised scores, batched matmul, in-place softmax.

Scores are built for a block of query rows at a time (all batches and heads), so peak memory
stays near 64 MiB whatever L·S is; everything runs in the input dtype.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from harness import implementation
from suites.scaled_dot_product_attention import (
    OPTIONS,
    causal_offset,
    validate_attention,
    validate_options,
)

_BLOCK_ELEMENTS = 1 << 24  # scores per block: 64 MiB in float32


def additive_bias(mask: Any, mask_true_means: str, dtype: Any) -> Any:
    """A bool mask as 0 / -inf in the compute dtype (in the mask's own, unbroadcast shape)."""
    if mask is None:
        return None
    if mask.dtype == np.bool_:
        keep = mask if mask_true_means == "attend" else ~mask
        return np.where(keep, dtype.type(0), dtype.type(-np.inf))
    return mask.astype(dtype, copy=False)


@implementation("scaled_dot_product_attention", "numpy", "materialized", supports=OPTIONS)
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
    """Q·Kᵀ per row block via np.matmul, additive bias, max-subtracted exp, then ·V."""
    validate_options(mask_true_means, fully_masked, causal_alignment)
    B, H, L, S, d, dv = validate_attention(q, k, v, mask, scale)
    dtype = q.dtype
    scale = dtype.type(1.0 / math.sqrt(d) if scale is None else scale)
    bias = additive_bias(mask, mask_true_means, dtype)
    if is_causal:  # causal blocking folds into the same additive bias, as an (L, S) plane
        offset = causal_offset(L, S, causal_alignment)
        plane = np.where(
            np.arange(S) <= np.arange(L)[:, None] + offset, dtype.type(0), dtype.type(-np.inf)
        )
        bias = plane if bias is None else bias + plane
    if bias is not None:
        bias = bias.reshape((1,) * (4 - bias.ndim) + bias.shape)
    out = np.empty((B, H, L, dv), dtype=dtype)
    dead_value = 0 if fully_masked == "zero" else np.nan
    if S == 0:
        out.fill(dead_value)
        return out
    kt = k.swapaxes(-1, -2)
    rows = max(1, _BLOCK_ELEMENTS // max(1, B * H * S))
    with np.errstate(invalid="ignore", divide="ignore"):
        for lo in range(0, L, rows):
            hi = min(L, lo + rows)
            scores = np.matmul(q[:, :, lo:hi], kt)
            scores *= scale
            if bias is not None:
                scores += bias[:, :, lo:hi] if bias.shape[2] > 1 else bias
            row_max = scores.max(axis=-1, keepdims=True)
            dead = row_max == -np.inf
            row_max[dead] = 0
            scores -= row_max
            np.exp(scores, out=scores)
            block = np.matmul(scores, v)
            block /= scores.sum(axis=-1, keepdims=True)
            block[np.broadcast_to(dead, block.shape)] = dead_value
            out[:, :, lo:hi] = block
    return out
