"""scaled_dot_product_attention through the array API: materialised scores, in-place softmax.

One code for NumPy, torch (CPU and CUDA) and CuPy via array-api-compat: scores are built for a
block of query rows at a time (all batches and heads), so peak memory stays bounded whatever
L·S is; everything runs in the input dtype (float16 in float32: QKᵀ at a scale of 1e4 overflows
float16) and every step over the scores works in place.
"""

from __future__ import annotations

import math
from typing import Any

from array_api_compat import array_namespace, device

from harness import implementation
from suites.scaled_dot_product_attention import ARGS, AttentionOptions, causal_offset

_BLOCK_ELEMENTS = 1 << 24  # scores per block: 64 MiB in float32


@implementation(
    "scaled_dot_product_attention", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "materialized"
)
def attention(q: Any, k: Any, v: Any, mask: Any, scale: Any, opts: AttentionOptions) -> Any:
    """Q·Kᵀ per row block via matmul, additive bias, max-subtracted exp in place, then ·V;
    float16 works in float32 (logits past 65504 would overflow) and rounds once."""
    dtype, xp = ARGS.check(q, k, v, mask, scale), array_namespace(q, k, v)
    if dtype == xp.float16:
        q, k, v = (xp.astype(a, xp.float32) for a in (q, k, v))
        if mask is not None and not xp.isdtype(mask.dtype, "bool"):
            mask = xp.astype(mask, xp.float32)
        return xp.astype(_attention(q, k, v, mask, scale, opts, xp.float32, xp), dtype)
    return _attention(q, k, v, mask, scale, opts, dtype, xp)


def _attention(
    q: Any, k: Any, v: Any, mask: Any, scale: Any, opts: AttentionOptions, dtype: Any, xp: Any
) -> Any:
    (B, H, L, d), S, dv, dev = q.shape, k.shape[2], v.shape[3], device(q)
    scale = 1.0 / math.sqrt(d) if scale is None else float(scale)
    zero, blocked = (xp.asarray(x, dtype=dtype, device=dev) for x in (0.0, -math.inf))
    bias = None
    if mask is not None and xp.isdtype(mask.dtype, "bool"):
        bias = xp.where(mask if opts.mask_true_means == "attend" else ~mask, zero, blocked)
    elif mask is not None:
        bias = xp.astype(mask, dtype, copy=False)
    if opts.is_causal:  # causal blocking folds into the same additive bias, as an (L, S) plane
        offset = causal_offset(L, S, opts.causal_alignment)
        keys, queries = xp.arange(S, device=dev), xp.arange(L, device=dev)
        plane = xp.where(keys[None, :] <= queries[:, None] + offset, zero, blocked)
        bias = plane if bias is None else bias + plane
    if bias is not None:
        bias = xp.reshape(bias, (1,) * (4 - bias.ndim) + tuple(bias.shape))
    if S == 0:
        dead_value = 0.0 if opts.fully_masked == "zero" else math.nan
        return xp.full((B, H, L, dv), dead_value, dtype=dtype, device=dev)
    kt = xp.matrix_transpose(k)
    rows = max(1, _BLOCK_ELEMENTS // max(1, B * H * S))
    out = None if rows >= L else xp.empty((B, H, L, dv), dtype=dtype, device=dev)
    for lo in range(0, max(L, 1), rows):
        hi = min(L, lo + rows)
        scores = xp.matmul(q[:, :, lo:hi, :], kt)
        scores *= scale
        if bias is not None:
            scores += bias[:, :, lo:hi, :] if bias.shape[2] > 1 else bias
        row_max = xp.max(scores, axis=-1, keepdims=True)  # NaN propagates
        dead = row_max == -math.inf  # no key left: exp(-inf - 0) = 0 for the whole row
        scores -= xp.where(dead, zero, row_max)
        xp.exp(scores, out=scores)  # numpy, torch and cupy all take out= (beyond the standard)
        block = xp.matmul(scores, v)
        block /= xp.where(dead, xp.ones_like(row_max), xp.sum(scores, axis=-1, keepdims=True))
        if opts.fully_masked == "nan":
            block = xp.where(dead, xp.asarray(math.nan, dtype=dtype, device=dev), block)
        if out is None:
            return block
        out[:, :, lo:hi, :] = block
    return out
