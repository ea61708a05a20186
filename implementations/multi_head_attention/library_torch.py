"""torch.nn.MultiheadAttention with the suite's weights loaded through load_state_dict.

The module is built on the meta device (nothing initialised) and the input tensors are
assigned as its parameters, so no weight is drawn or copied. The adapter flips the mask
polarity when True means attend, and fixes the rows with no key left: torch gives NaN for a
fully padded row but out_proj.bias for S = 0.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.multi_head_attention import MhaOptions, check


@implementation("multi_head_attention", "library", "torch", arrays="torch_cpu", requires=("torch",))
def mha(query: Any, key: Any, value: Any, key_padding_mask: Any, in_proj_weight: Any,
    in_proj_bias: Any, out_proj_weight: Any, out_proj_bias: Any, num_heads: int,
    opts: MhaOptions) -> tuple[Any, Any]:  # fmt: skip
    """nn.MultiheadAttention(E, H, batch_first=...)(q, k, v, key_padding_mask,
    need_weights=True, average_attn_weights=...) in eval mode, no autograd."""
    check(query, key, value, key_padding_mask, in_proj_weight, in_proj_bias, out_proj_weight,
          out_proj_bias, num_heads, opts)  # fmt: skip
    E = in_proj_weight.shape[1]
    like = in_proj_weight
    module = torch.nn.MultiheadAttention(
        E, num_heads, bias=True, batch_first=opts.batch_first, device="meta", dtype=like.dtype
    )
    zeros = like.new_zeros((3 * E,))
    state = {
        "in_proj_weight": in_proj_weight,
        "in_proj_bias": zeros if in_proj_bias is None else in_proj_bias,
        "out_proj.weight": out_proj_weight,
        "out_proj.bias": zeros[:E] if out_proj_bias is None else out_proj_bias,
    }
    module.load_state_dict(state, assign=True)
    mask = key_padding_mask
    if mask is not None and mask.dtype == torch.bool and opts.mask_true_means == "attend":
        mask = ~mask
    with torch.no_grad():
        out, weights = module.eval()(
            query, key, value, key_padding_mask=mask, need_weights=True,
            average_attn_weights=opts.average_attn_weights,
        )  # fmt: skip
    # rows with no key left: every key ignored, or no key at all
    B, S = key_padding_mask.shape if mask is not None else (weights.shape[0], weights.shape[-1])
    if S == 0:
        dead = torch.ones(B, dtype=torch.bool, device=like.device)
    elif mask is None:
        dead = torch.zeros(B, dtype=torch.bool, device=like.device)
    elif mask.dtype == torch.bool:
        dead = mask.all(dim=1)
    else:
        dead = (mask == float("-inf")).all(dim=1)
    if bool(dead.any()):
        out_rows = dead.view(-1, 1, 1) if opts.batch_first else dead.view(1, -1, 1)
        w_rows = dead.view((-1,) + (1,) * (weights.ndim - 1))
        if opts.fully_masked == "nan":
            out, weights = (
                out.masked_fill(out_rows, torch.nan),
                weights.masked_fill(w_rows, torch.nan),
            )
        else:
            fill = state["out_proj.bias"].expand_as(out)
            out, weights = torch.where(out_rows, fill, out), weights.masked_fill(w_rows, 0.0)
    return out, weights
