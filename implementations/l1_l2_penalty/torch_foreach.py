"""l1_l2_penalty in torch (CPU or CUDA) with the multi-tensor _foreach ops: the per-tensor
L1 and L2 norms in one call each, the gradient as sign(w)·λ₁ + 2λ₂·w in two list ops.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.l1_l2_penalty import PenaltyOptions, check, penalised


@implementation("l1_l2_penalty", ("torch_cpu", "torch_cuda"), "foreach")
def l1_l2_penalty(params: Any, is_weight: Any, l1: Any, l2: Any, opts: PenaltyOptions) -> Any:
    """_foreach_norm (ord 1 and 2), _foreach_sign, _foreach_mul_, _foreach_add_."""
    dtype = check(params, is_weight, l1, l2) or torch.float64
    on = penalised(is_weight, len(params), opts)
    ws = [w for w, keep in zip(params, on, strict=True) if keep]
    if not ws:
        return torch.zeros((), dtype=dtype), [torch.zeros_like(w) for w in params]
    l1_norms = torch.stack([n.to(dtype) for n in torch._foreach_norm(ws, 1)])
    l2_norms = torch.stack([n.to(dtype) for n in torch._foreach_norm(ws, 2)])
    total = float(l1) * l1_norms.sum() + float(l2) * l2_norms.square().sum()
    signs = list(torch._foreach_sign(ws))
    torch._foreach_mul_(signs, float(l1))
    torch._foreach_add_(signs, ws, alpha=2.0 * float(l2))
    grads = iter(signs)
    return total, [
        next(grads) if keep else torch.zeros_like(w) for w, keep in zip(params, on, strict=True)
    ]
