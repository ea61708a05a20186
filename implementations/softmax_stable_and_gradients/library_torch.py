"""torch.nn.functional.softmax / log_softmax (or torch.sigmoid) forward, and their VJP through
autograd.

The forward is what a practitioner calls. The backward builds the graph in setup (x with
requires_grad, the forward) and times only torch.autograd.grad with the upstream gradient,
the graph retained so every timed call repeats the same backward. all_neg_inf='zero' is the
usual safe-softmax pattern: all -inf slices are replaced by zeros before the softmax and
their output is masked to 0 after it, so their gradient is 0 through autograd as well.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.softmax_stable_and_gradients import SoftmaxOptions, check_backward, check_forward


def _dead(x: Any, axis: int) -> Any:
    """Slices with every entry -inf (an empty slice has nothing to fill)."""
    return (x == float("-inf")).all(dim=axis, keepdim=True) & (x.shape[axis] > 0)


def _call(x: Any, axis: int, opts: SoftmaxOptions) -> Any:
    if opts.function == "sigmoid":
        return torch.sigmoid(x)
    fn = F.softmax if opts.function == "softmax" else F.log_softmax
    if opts.all_neg_inf == "nan":
        return fn(x, dim=axis)
    dead = _dead(x.detach(), axis)
    safe = x.masked_fill(dead, 0.0)
    return fn(safe, dim=axis).masked_fill(dead, 0.0)


@implementation("softmax_stable_and_gradients", "library", "torch", arrays="torch_cpu")
def softmax(x: Any, opts: SoftmaxOptions) -> Any:
    """F.softmax(x, dim) or F.log_softmax(x, dim); all -inf slices zeroed when asked."""
    _, axis = check_forward(x, opts)
    return _call(x, axis, opts)


@implementation(
    "softmax_stable_and_gradients.backward",
    "library",
    "torch_autograd",
    arrays="torch_cpu",
    prepare=True,
)
def softmax_backward(x: Any, g: Any, opts: SoftmaxOptions) -> Callable[[], Any]:
    """Setup: y = F.softmax(x) (or log_softmax) on a leaf x; timed: autograd.grad(y, x, g)."""
    _, axis = check_backward(x, g, opts)
    leaf = x.detach().clone().requires_grad_(True)
    y = _call(leaf, axis, opts)

    def vjp() -> Any:
        if y.numel() == 0:
            return torch.zeros_like(g)
        (grad,) = torch.autograd.grad(y, leaf, g, retain_graph=True)
        return grad

    return vjp
