"""torch.nn.MultiheadAttention with the suite's weights loaded through load_state_dict.

The module is built on the meta device (nothing initialised) and the input tensors are
assigned as its parameters, so no weight is drawn or copied; with kdim or vdim != E it is
built with them and holds q/k/v_proj_weight apart, as torch does. The adapter flips the
polarity of bool masks when True means attend, turns a bool mask into its additive form when
the other mask is float (torch deprecates mixed mask types), and fixes the rows with no key
left: torch gives NaN for a fully masked row but out_proj.bias for S = 0. With out_proj=False
the module gets W_o = I and b_o = 0 (exact), so it returns the concatenated heads.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.multi_head_attention import MhaOptions, check


def _masks(padding: Any, attn: Any, opts: MhaOptions, like: Any) -> tuple[Any, Any]:
    """Both masks in torch's polarity (True ignores), bool only when both are bool."""
    masks = [
        ~m if m is not None and m.dtype == torch.bool and opts.mask_true_means == "attend" else m
        for m in (padding, attn)
    ]
    if any(m is not None and m.dtype != torch.bool for m in masks):
        masks = [
            torch.zeros((), dtype=like.dtype).masked_fill(m, float("-inf"))
            if m is not None and m.dtype == torch.bool
            else m
            for m in masks
        ]
    return masks[0], masks[1]


def _dead(padding: Any, attn: Any, B: int, H: int, L: int, S: int, like: Any) -> Any:
    """(B, H, L): True where a (query, head) has no key left."""
    if S == 0:
        return torch.ones((B, H, L), dtype=torch.bool, device=like.device)
    ignored = torch.zeros((B, H, L, S), dtype=torch.bool, device=like.device)
    if padding is not None:
        m = padding if padding.dtype == torch.bool else padding == float("-inf")
        ignored |= m.reshape(B, 1, 1, S)
    if attn is not None:
        m = attn if attn.dtype == torch.bool else attn == float("-inf")
        ignored |= m.reshape((1, 1, L, S) if m.ndim == 2 else (B, H, L, S))
    return ignored.all(dim=-1)


# nn.MultiheadAttention projects values to E (its vdim is the value INPUT width): a projected
# value width D_v != E is library_torch_functional's
@implementation("multi_head_attention", "library", "torch", arrays="torch_cpu", requires=("torch",),
                supports={"value_width": ("embed",)})  # fmt: skip
def mha(query: Any, key: Any, value: Any, key_padding_mask: Any, attn_mask: Any,
    in_proj_weight: Any, in_proj_bias: Any, out_proj_weight: Any, out_proj_bias: Any,
    q_proj_weight: Any, k_proj_weight: Any, v_proj_weight: Any, num_heads: int,
    opts: MhaOptions) -> tuple[Any, Any]:  # fmt: skip
    """nn.MultiheadAttention(E, H, kdim=..., vdim=..., batch_first=...)(q, k, v,
    key_padding_mask, attn_mask=..., need_weights=..., average_attn_weights=...) in eval
    mode, no autograd."""
    check(query, key, value, key_padding_mask, attn_mask, in_proj_weight, in_proj_bias,
          out_proj_weight, out_proj_bias, q_proj_weight, k_proj_weight, v_proj_weight,
          num_heads, opts)  # fmt: skip
    E, H, like = query.shape[2], int(num_heads), query
    Ek, Ev = key.shape[2], value.shape[2]
    module = torch.nn.MultiheadAttention(E, H, bias=True, kdim=Ek, vdim=Ev,
        batch_first=opts.batch_first, device="meta", dtype=like.dtype)  # fmt: skip
    zeros = like.new_zeros((3 * E,))
    state = {
        "in_proj_bias": zeros if in_proj_bias is None else in_proj_bias,
        # out_proj=False: W_o = I and b_o = 0, an exact identity (each output is one product
        # by 1 plus products by 0), so the module returns the concatenated heads
        "out_proj.weight": (
            torch.eye(E, dtype=like.dtype, device=like.device)
            if out_proj_weight is None
            else out_proj_weight
        ),
        "out_proj.bias": zeros[:E] if out_proj_bias is None else out_proj_bias,
    }
    separate = (q_proj_weight, k_proj_weight, v_proj_weight)
    if module._qkv_same_embed_dim:  # kdim = vdim = E: torch keeps the packed layout
        state["in_proj_weight"] = (
            torch.cat(separate) if in_proj_weight is None else in_proj_weight
        )  # fmt: skip
    else:
        state.update(
            zip(("q_proj_weight", "k_proj_weight", "v_proj_weight"), separate, strict=True)
        )
    module.load_state_dict(state, assign=True)
    padding, attn = _masks(key_padding_mask, attn_mask, opts, like)
    with torch.no_grad():
        out, weights = module.eval()(
            query, key, value, key_padding_mask=padding, attn_mask=attn,
            need_weights=opts.need_weights, average_attn_weights=opts.average_attn_weights,
        )  # fmt: skip
    b, n = (0, 1) if opts.batch_first else (1, 0)
    B, L, S = query.shape[b], query.shape[n], key.shape[n]
    dead = _dead(padding, attn, B, H, L, S, like)
    if not bool(dead.any()):
        return out, weights
    any_head, every_head = dead.any(dim=1), dead.all(dim=1)  # (B, L)
    out_rows = (any_head if opts.batch_first else any_head.T).unsqueeze(-1)
    if opts.fully_masked == "nan":
        out = out.masked_fill(out_rows, torch.nan)
    else:
        if not bool(torch.equal(any_head, every_head)):
            raise NotImplementedError(
                "fully_masked='zero' with a query dead in some heads only: torch's NaN head "
                "reaches every output column"
            )
        out = torch.where(out_rows, state["out_proj.bias"].expand_as(out), out)
    if weights is not None:
        fill = torch.nan if opts.fully_masked == "nan" else 0.0
        rows = any_head if opts.average_attn_weights else dead
        weights = weights.masked_fill(rows.unsqueeze(-1), fill)
    return out, weights
