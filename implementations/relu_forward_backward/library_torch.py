"""torch's ReLU as a practitioner uses it: F.relu forward; backward through autograd, the
graph built outside the timed region (prepare=True), F.relu on a leaf or F.relu(inplace=True)
on a non-leaf copy (autograd saves the output, so the in-place form is legal). torch's
gradient at 0 is 0 and NaN becomes NaN: the other conventions are not torch's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.relu_forward_backward import ARGS, ReluBackwardOptions, ReluOptions, check_backward


@implementation("relu_forward_backward", "library", "torch", arrays="torch_cpu",
                supports={"nan": ("propagate",)})  # fmt: skip
def relu(x: Any, opts: ReluOptions) -> Any:
    """F.relu(x)."""
    ARGS.check(x)
    return F.relu(x)


def _graph(x: Any, g: Any, inplace: bool) -> Callable[[], Any]:
    leaf = x.detach().clone().requires_grad_(True)
    y = F.relu(leaf * 1.0, inplace=True) if inplace else F.relu(leaf)

    def vjp() -> Any:
        if y.numel() == 0:
            return torch.zeros_like(g)
        (grad,) = torch.autograd.grad(y, leaf, g, retain_graph=True)
        return grad

    return vjp


@implementation("relu_forward_backward.backward", "library", "torch_autograd",
                arrays="torch_cpu", prepare=True, supports={"grad_at_zero": ("zero",)})  # fmt: skip
def relu_backward(x: Any, g: Any, opts: ReluBackwardOptions) -> Callable[[], Any]:
    """Setup: y = F.relu(leaf); timed: autograd.grad(y, leaf, g)."""
    check_backward(x, g)
    return _graph(x, g, inplace=False)


@implementation("relu_forward_backward.backward", "library", "torch_autograd_inplace",
                arrays="torch_cpu", prepare=True, supports={"grad_at_zero": ("zero",)})  # fmt: skip
def relu_backward_inplace(x: Any, g: Any, opts: ReluBackwardOptions) -> Callable[[], Any]:
    """Setup: y = F.relu(leaf·1, inplace=True); timed: autograd.grad(y, leaf, g)."""
    check_backward(x, g)
    return _graph(x, g, inplace=True)
