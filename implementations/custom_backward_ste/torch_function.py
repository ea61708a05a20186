"""custom_backward_ste as a torch.autograd.Function (CPU or CUDA): the forward quantises and
saves x, the backward is the surrogate. The forward mode calls Function.apply on x; the
backward mode builds y = apply(leaf) in setup and times torch.autograd.grad(y, leaf, g).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from harness import implementation
from implementations.custom_backward_ste.torch_direct import quantise, surrogate
from suites.custom_backward_ste import (
    SteBackwardOptions,
    SteForwardOptions,
    check_backward,
    check_forward,
)


class StraightThrough(torch.autograd.Function):
    """y = q(x) forward; dx = surrogate(x, dy) backward (options ride along, no gradient)."""

    @staticmethod
    def forward(ctx: Any, x: Any, fwd: SteForwardOptions, bwd: SteBackwardOptions) -> Any:
        ctx.save_for_backward(x)
        ctx.bwd = bwd
        return quantise(x, fwd)

    @staticmethod
    def backward(ctx: Any, dy: Any) -> tuple[Any, None, None]:
        (x,) = ctx.saved_tensors
        return surrogate(x, dy, ctx.bwd), None, None


_apply: Any = StraightThrough.apply  # typed Any: torch leaves Function.apply untyped


@implementation("custom_backward_ste", ("torch_cpu", "torch_cuda"), "autograd_function")
def ste_forward(x: Any, opts: SteForwardOptions) -> Any:
    """StraightThrough.apply(x) (no graph: x does not require grad)."""
    check_forward(x)
    return _apply(x, opts, SteBackwardOptions())


@implementation(
    "custom_backward_ste.backward",
    ("torch_cpu", "torch_cuda"),
    "autograd_function",
    prepare=True,
)
def ste_backward(x: Any, g: Any, opts: SteBackwardOptions) -> Callable[[], Any]:
    """Setup: y = StraightThrough.apply(leaf) (round forward); timed: autograd.grad."""
    check_backward(x, g)
    leaf = x.detach().clone().requires_grad_(True)
    y = _apply(leaf, SteForwardOptions(), opts)

    def vjp() -> Any:
        if y.numel() == 0:
            return torch.zeros_like(g)
        (grad,) = torch.autograd.grad(y, leaf, g, retain_graph=True)
        return grad

    return vjp
