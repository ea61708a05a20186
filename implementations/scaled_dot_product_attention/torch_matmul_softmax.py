"""scaled_dot_product_attention in torch: explicit matmul, additive bias, torch.softmax, matmul.

The unfused textbook formulation on any device (not F.sdpa): scores are materialised for a
block of query rows at a time, and rows with no key left are fixed up after the softmax.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from harness import implementation
from suites.scaled_dot_product_attention import ARGS, AttentionOptions, causal_offset

_BLOCK_ELEMENTS = 1 << 26  # scores per block: 256 MiB in float32


def _bias(mask: Any, L: int, S: int, like: Any, opts: AttentionOptions) -> Any:
    """Mask and causality as one additive 0 / -inf bias in the compute dtype, or None."""
    bias = None
    if mask is not None and mask.dtype == torch.bool:
        keep = mask if opts.mask_true_means == "attend" else ~mask
        bias = torch.zeros(keep.shape, dtype=like.dtype, device=like.device)
        bias.masked_fill_(~keep, float("-inf"))
    elif mask is not None:
        bias = mask.to(like.dtype)
    if opts.is_causal:
        offset = causal_offset(L, S, opts.causal_alignment)
        blocked = torch.ones(L, S, dtype=torch.bool, device=like.device).triu(offset + 1)
        plane = torch.zeros(L, S, dtype=like.dtype, device=like.device)
        plane.masked_fill_(blocked, float("-inf"))
        bias = plane if bias is None else bias + plane
    if bias is not None:
        bias = bias.reshape((1,) * (4 - bias.ndim) + tuple(bias.shape))
    return bias


@implementation("scaled_dot_product_attention", ("torch_cpu", "torch_cuda"), "matmul_softmax")
def attention(q: Any, k: Any, v: Any, mask: Any, scale: Any, opts: AttentionOptions) -> Any:
    """(q·kᵀ)·scale + bias -> torch.softmax -> ·v, per block of query rows; float16 works in
    float32 (logits past 65504 would overflow) and rounds once."""
    ARGS.check(q, k, v, mask, scale)
    if q.dtype == torch.float16:
        if mask is not None and mask.dtype != torch.bool:
            mask = mask.float()
        return _attention(q.float(), k.float(), v.float(), mask, scale, opts).half()
    return _attention(q, k, v, mask, scale, opts)


def _attention(q: Any, k: Any, v: Any, mask: Any, scale: Any, opts: AttentionOptions) -> Any:
    (B, H, L, d), S, dv = q.shape, k.shape[2], v.shape[3]
    scale = 1.0 / math.sqrt(d) if scale is None else float(scale)
    bias = _bias(mask, L, S, q, opts)
    dead_value = 0.0 if opts.fully_masked == "zero" else float("nan")
    out = q.new_empty((B, H, L, dv))
    if S == 0:
        return out.fill_(dead_value)
    kt = k.transpose(-2, -1)
    rows = max(1, _BLOCK_ELEMENTS // max(1, B * H * S))
    for lo in range(0, L, rows):
        hi = min(L, lo + rows)
        scores = torch.matmul(q[:, :, lo:hi], kt).mul_(scale)
        if bias is not None:
            scores.add_(bias[:, :, lo:hi] if bias.shape[2] > 1 else bias)
        # a row of -inf only gives NaN in softmax; detect it before (a NaN max stays NaN)
        dead = scores.amax(dim=-1, keepdim=True) == float("-inf")
        block = torch.matmul(torch.softmax(scores, dim=-1), v)
        out[:, :, lo:hi] = block.masked_fill_(dead, dead_value)
    return out
