"""multi_head_attention through torch.nn.functional: F.linear for the projections and
F.scaled_dot_product_attention per head, the route for what nn.MultiheadAttention cannot
express: a projected value width D_v != E (value_width='custom'; the module's vdim is only
the value input width) and no W_o (out_proj=False, F.linear skipped).

Heads are split as contiguous blocks: d_h = E / H columns of q and k, d_v = D_v / H of v.
Both masks become one additive mask (torch's polarity, True ignores, after flipping for
mask_true_means='attend'). SDPA returns no weights, so with need_weights the weights are
F.softmax of the scaled logits, as torch's own multi_head_attention_forward computes them
then. Rows with no key left are set per (query, head) in the context, before W_o: NaN or zero
(fully_masked), whatever SDPA's kernel returns for them; with an empty B, L or S no kernel is
called (the context is empty or zero). SDPA runs on its math backend: the fused CPU kernel
(chosen without a mask) returns a zero row for a query holding a NaN where the math backend
and nn.MultiheadAttention propagate the NaN.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from harness import implementation
from implementations.multi_head_attention.library_torch import _dead, _masks
from suites.multi_head_attention import MhaOptions, check, projection_weights, value_width


@implementation("multi_head_attention", "library", "torch_functional", arrays="torch_cpu",
                requires=("torch",))  # fmt: skip
def mha(query: Any, key: Any, value: Any, key_padding_mask: Any, attn_mask: Any,
    in_proj_weight: Any, in_proj_bias: Any, out_proj_weight: Any, out_proj_bias: Any,
    q_proj_weight: Any, k_proj_weight: Any, v_proj_weight: Any, num_heads: int,
    opts: MhaOptions) -> tuple[Any, Any]:  # fmt: skip
    """F.linear(q/k/v), F.scaled_dot_product_attention over (B, H, ·, ·), F.linear(W_o)."""
    check(query, key, value, key_padding_mask, attn_mask, in_proj_weight, in_proj_bias,
          out_proj_weight, out_proj_bias, q_proj_weight, k_proj_weight, v_proj_weight,
          num_heads, opts)  # fmt: skip
    F = torch.nn.functional
    if not opts.batch_first:
        query, key, value = (t.transpose(0, 1) for t in (query, key, value))
    (B, L, E), S, H = query.shape, key.shape[1], int(num_heads)
    Dv = value_width(in_proj_weight, v_proj_weight, E)
    dh, dv = E // H, Dv // H
    w_q, w_k, w_v = projection_weights(in_proj_weight, q_proj_weight, k_proj_weight,
                                       v_proj_weight, E)  # fmt: skip
    b_q: Any = None
    b_k: Any = None
    b_v: Any = None
    if in_proj_bias is not None:
        b_q, b_k, b_v = in_proj_bias[:E], in_proj_bias[E : 2 * E], in_proj_bias[2 * E :]
    q = F.linear(query, w_q, b_q).reshape(B, L, H, dh).transpose(1, 2)  # (B, H, L, d_h)
    k = F.linear(key, w_k, b_k).reshape(B, S, H, dh).transpose(1, 2)  # (B, H, S, d_h)
    v = F.linear(value, w_v, b_v).reshape(B, S, H, dv).transpose(1, 2)  # (B, H, S, d_v)
    padding, attn = _masks(key_padding_mask, attn_mask, opts, query)  # True ignores
    bias: Any = None  # one additive mask broadcasting to (B, H, L, S), or none
    attn_shape = (B, H, L, S) if attn is not None and attn.ndim == 3 else (1, 1, L, S)
    for m, shape in ((padding, (B, 1, 1, S)), (attn, attn_shape)):
        if m is not None:
            m = m.reshape(shape)
            if m.dtype == torch.bool:
                m = torch.zeros((), dtype=query.dtype).masked_fill(m, -math.inf)
            bias = m if bias is None else bias + m
    empty = B * L * S == 0
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
        context = (
            q.new_zeros((B, H, L, dv))
            if empty
            else F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        )
        weights: Any = None
        if opts.need_weights:
            logits = q @ k.transpose(-2, -1) / math.sqrt(dh)
            logits = logits if bias is None else logits + bias
            weights = logits.new_zeros(logits.shape) if empty else F.softmax(logits, dim=-1)
    dead = _dead(padding, attn, B, H, L, S, query).unsqueeze(-1)  # (B, H, L, 1)
    fill = torch.nan if opts.fully_masked == "nan" else 0.0
    context = context.masked_fill(dead, fill)
    context = context.transpose(1, 2).reshape(B, L, Dv)
    out = context if out_proj_weight is None else F.linear(context, out_proj_weight, out_proj_bias)
    if not opts.batch_first:
        out = out.transpose(0, 1)
    if weights is None:
        return out, None
    weights = weights.masked_fill(dead, fill)
    return out, weights.mean(dim=1) if opts.average_attn_weights else weights
