"""torch.nn.functional.scaled_dot_product_attention, adapted to the suite's conventions.

What a practitioner calls: F.sdpa with dropout_p=0. The adapter flips mask polarity, turns
bottom-right causality (or causality plus a mask) into one explicit mask, and writes NaN into
fully masked rows when asked (torch 2.13 returns zeros there, which is the default).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.scaled_dot_product_attention import ARGS, AttentionOptions, causal_offset


def _keep_mask(mask: Any, mask_true_means: str) -> Any:
    """F.sdpa's polarity: a bool mask is True where attention is allowed."""
    if mask is None or mask.dtype != torch.bool:
        return mask
    return mask if mask_true_means == "attend" else ~mask


def _with_causal(mask: Any, L: int, S: int, offset: int, device: Any) -> Any:
    keep = torch.ones(L, S, dtype=torch.bool, device=device).tril(diagonal=offset)
    if mask is None:
        return keep
    if mask.dtype == torch.bool:
        return mask & keep
    return mask.masked_fill(~keep, float("-inf"))


@implementation("scaled_dot_product_attention", "library", "torch", arrays="torch_cpu")
def attention(q: Any, k: Any, v: Any, mask: Any, scale: Any, opts: AttentionOptions) -> Any:
    """F.scaled_dot_product_attention(q, k, v, attn_mask, is_causal, scale), dropout_p=0."""
    ARGS.check(q, k, v, mask, scale)
    (B, H, L, _), S = q.shape, k.shape[2]
    attn_mask = _keep_mask(mask, opts.mask_true_means)
    if attn_mask is not None and attn_mask.is_floating_point():
        attn_mask = attn_mask.to(q.dtype)  # F.sdpa wants a float mask in the query dtype
    native_causal = opts.is_causal and attn_mask is None and opts.causal_alignment == "top_left"
    if opts.is_causal and not native_causal:
        offset = causal_offset(L, S, opts.causal_alignment)
        attn_mask = _with_causal(attn_mask, L, S, offset, q.device)
    out = F.scaled_dot_product_attention(
        q, k, v, attn_mask=attn_mask, dropout_p=0.0, is_causal=native_causal, scale=scale
    )
    if opts.fully_masked == "nan":
        if attn_mask is None:  # no mask or top-left causal: every row keeps a key unless S = 0
            dead = torch.full((L,), S == 0, dtype=torch.bool, device=q.device)
        elif attn_mask.dtype == torch.bool:
            dead = ~attn_mask.any(dim=-1)
        else:
            dead = (attn_mask == float("-inf")).all(dim=-1)
        out = out.masked_fill(dead.broadcast_to((B, H, L)).unsqueeze(-1), float("nan"))
    return out
