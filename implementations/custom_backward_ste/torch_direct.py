"""custom_backward_ste as plain torch kernels (CPU or CUDA), no autograd: the forward is one
op (round, sign, argmax + scatter) and the backward one select of g by the mask of x.

torch.sign(NaN) is 0 on CPU; one where() puts the NaN back (the harness's NaN rule).
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.custom_backward_ste import (
    SteBackwardOptions,
    SteForwardOptions,
    check_backward,
    check_forward,
)


def quantise(x: Any, opts: SteForwardOptions) -> Any:
    """round / sign / row argmax one-hot of x, in x's dtype and device."""
    if opts.function == "round":
        return torch.round(x)
    if opts.function == "sign":
        if opts.sign_zero == "plus_one":  # x >= 0 -> +1 (so -0 too), x < 0 -> -1
            s = torch.where(x < 0, -1.0, 1.0).to(x.dtype)
        else:
            s = torch.sign(x)
        return torch.where(x == x, s, x)  # NaN stays NaN
    out = torch.zeros_like(x)
    if x.numel():  # argmax refuses an empty row; an empty x has nothing to mark
        out.scatter_(1, x.argmax(dim=1, keepdim=True), 1.0)
    return out


def surrogate(x: Any, g: Any, opts: SteBackwardOptions) -> Any:
    """dx: g itself (a copy), or g selected by the clip mask of x."""
    if opts.surrogate == "identity":
        return g.clone()
    inside = x.abs() <= 1 if opts.at_one == "pass" else x.abs() < 1
    return torch.where(inside, g, 0.0)


@implementation("custom_backward_ste", ("torch_cpu", "torch_cuda"), "direct")
def ste_forward(x: Any, opts: SteForwardOptions) -> Any:
    """torch.round, torch.sign (NaN restored) or zeros + scatter_ at argmax."""
    check_forward(x)
    return quantise(x, opts)


@implementation("custom_backward_ste.backward", ("torch_cpu", "torch_cuda"), "direct")
def ste_backward(x: Any, g: Any, opts: SteBackwardOptions) -> Any:
    """One torch.where of g by |x| <= 1 (or a clone of g for the identity)."""
    check_backward(x, g)
    return surrogate(x, g, opts)
