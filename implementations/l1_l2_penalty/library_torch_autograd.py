"""l1_l2_penalty as a torch user writes it: R = λ₁·Σ|w| + λ₂·Σw² over leaf tensors, then
torch.autograd.grad (abs's backward is sign, 0 at 0). The leaf copies of the parameters are
made outside the timed region (prepare=True); the closure runs the forward and the backward.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from harness import implementation
from suites.l1_l2_penalty import PenaltyOptions, check, penalised


@implementation("l1_l2_penalty", "library", "torch_autograd", arrays="torch_cpu", prepare=True,
                requires=("torch",))  # fmt: skip
def l1_l2_penalty(params: Any, is_weight: Any, l1: Any, l2: Any,
                  opts: PenaltyOptions) -> Callable[[], Any]:  # fmt: skip
    """sum(abs) and sum(square) per penalised leaf, then grad(R, those leaves)."""
    dtype = check(params, is_weight, l1, l2) or torch.float64
    on = penalised(is_weight, len(params), opts)
    leaves = [w.detach().clone().requires_grad_() for w, keep in zip(params, on, strict=True)
              if keep]  # fmt: skip
    a, b = float(l1), float(l2)

    def forward_backward() -> Any:
        if not leaves:
            return torch.zeros((), dtype=dtype), [torch.zeros_like(w) for w in params]
        r = torch.stack([(a * w.abs().sum() + b * w.square().sum()).to(dtype)
                         for w in leaves]).sum()  # fmt: skip
        got = iter(torch.autograd.grad(r, leaves))
        grads = [
            next(got) if keep else torch.zeros_like(w) for w, keep in zip(params, on, strict=True)
        ]
        return r.detach(), grads

    return forward_backward
