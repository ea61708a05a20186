"""l1_l2_penalty's gradient as torch.optim.SGD computes weight decay: the gradient preset to
λ₁·sign(w), weight_decay = 2λ₂ (the factor-2 adapter: SGD's decay wd is the penalty
(wd/2)·Σw²), momentum on; the first step stores grad + wd·w in the momentum buffer, which is
read back. R itself is torch's vector norms (the optimizer never forms it).
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.l1_l2_penalty import PenaltyOptions, check, penalised


@implementation(
    "l1_l2_penalty", "library", "torch_sgd", arrays="torch_cpu", requires=("torch",),
    expected_failures={"nan_parameter_l1_only": "torch.sign(NaN) is 0: with weight_decay 0 "
                       "nothing else carries a NaN parameter into its gradient"},
)  # fmt: skip
def l1_l2_penalty(params: Any, is_weight: Any, l1: Any, l2: Any, opts: PenaltyOptions) -> Any:
    """One SGD(lr=0, momentum=0.9, weight_decay=2λ₂) step over the penalised copies."""
    dtype = check(params, is_weight, l1, l2) or torch.float64
    on = penalised(is_weight, len(params), opts)
    copies = [w.detach().clone() for w, keep in zip(params, on, strict=True) if keep]
    for w in copies:
        w.grad = torch.sign(w).mul_(float(l1))
    sgd = torch.optim.SGD(copies or [torch.zeros(1)], lr=0.0, momentum=0.9,
                          weight_decay=2.0 * float(l2))  # fmt: skip
    if copies:
        sgd.step()
    total = torch.zeros((), dtype=torch.float64)
    for w in copies:
        total += float(l1) * torch.linalg.vector_norm(w, 1).double()
        total += float(l2) * torch.linalg.vector_norm(w, 2).double().square()
    bufs = iter([sgd.state[w]["momentum_buffer"] for w in copies])
    grads = [
        next(bufs) if keep else torch.zeros_like(w) for w, keep in zip(params, on, strict=True)
    ]
    return total.to(dtype), grads
