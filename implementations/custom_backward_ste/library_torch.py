"""torch's own ops: the forward torch.round / torch.sign / F.one_hot(argmax), the backward
autograd of the usual detach trick y = x_c + (q(x) - x_c).detach() with x_c = x (identity),
torch.clamp(x, -1, 1) (clipped, gradient passes at |x| = 1) or F.hardtanh(x) (blocked at 1).

Adapter fixes: torch.sign(NaN) is 0 on CPU (NaN restored); sign(0) = +1 by one where();
F.hardtanh's CPU gradient lets a NaN x through in its scalar tail and blocks it in the
vectorised body, so its gradient is zeroed at NaN x (the suite's NaN-is-outside rule).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.custom_backward_ste import (
    SteBackwardOptions,
    SteForwardOptions,
    check_backward,
    check_forward,
)


@implementation("custom_backward_ste", "library", "torch", arrays="torch_cpu")
def ste_forward(x: Any, opts: SteForwardOptions) -> Any:
    """torch.round(x); torch.sign(x); F.one_hot(x.argmax(1), N) in x's dtype."""
    check_forward(x)
    if opts.function == "round":
        return torch.round(x)
    if opts.function == "sign":
        s = torch.sign(x)
        if opts.sign_zero == "plus_one":
            s = torch.where(x == 0, torch.ones_like(s), s)
        return torch.where(torch.isnan(x), x, s)
    if x.numel() == 0:
        return torch.zeros_like(x)
    return F.one_hot(x.argmax(dim=1), x.shape[1]).to(x.dtype)


@implementation(
    "custom_backward_ste.backward", "library", "torch_detach", arrays="torch_cpu", prepare=True
)
def ste_backward(x: Any, g: Any, opts: SteBackwardOptions) -> Callable[[], Any]:
    """Setup: y = x_c + (torch.round(x) - x_c).detach() on a leaf x; timed: autograd.grad."""
    check_backward(x, g)
    leaf = x.detach().clone().requires_grad_(True)
    if opts.surrogate == "identity":
        xc = leaf
    elif opts.at_one == "pass":
        xc = torch.clamp(leaf, -1.0, 1.0)
    else:
        xc = F.hardtanh(leaf)
    y = xc + (torch.round(leaf) - xc).detach()

    nan = torch.isnan(x) if opts.surrogate == "clipped" and opts.at_one == "block" else None

    def vjp() -> Any:
        if y.numel() == 0:
            return torch.zeros_like(g)
        (grad,) = torch.autograd.grad(y, leaf, g, retain_graph=True)
        if nan is not None:
            grad = grad.masked_fill(nan, 0.0)
        return grad.clone() if grad.data_ptr() == g.data_ptr() else grad  # identity: g itself

    return vjp
