"""softmax_stable_and_gradients in torch ops (CPU or CUDA): amax, one subtraction into a fresh
buffer, then exp_/div_ (or the log-sum-exp) in place on it; the backward is a dot and an
in-place update on one buffer. float16 is worked in float32 and rounded once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from harness import implementation
from suites.softmax_stable_and_gradients import SoftmaxOptions, check_backward, check_forward


def _work(x: Any) -> Any:
    return x.float() if x.dtype == torch.float16 else x


def _forward(x: Any, axis: int, log: bool) -> tuple[Any, Any]:
    """(output, dead): dead marks slices that are all -inf (their output is NaN here)."""
    # amax refuses an empty slice; any placeholder does there (nothing is written)
    top = x.amax(dim=axis, keepdim=True) if x.shape[axis] else x.sum(dim=axis, keepdim=True)
    dead = top == float("-inf")  # NaN propagates through amax: NaN rows are not dead
    out = torch.sub(x, top.masked_fill(dead, 0.0))  # dead: -inf - 0, exp 0, 0/0 below
    if log:
        out.sub_(torch.exp(out).sum(dim=axis, keepdim=True).log_())
        out.masked_fill_(dead, float("nan"))
    else:
        out.exp_()
        out.div_(out.sum(dim=axis, keepdim=True))
    return out, dead


@implementation(
    "softmax_stable_and_gradients",
    ("torch_cpu", "torch_cuda"),
    "inplace",
    supports={"function": ("softmax", "log_softmax")},
)
def softmax(x: Any, opts: SoftmaxOptions) -> Any:
    """x - amax into one buffer, then exp_ and div_ (or - logsumexp) in place on it."""
    _, axis = check_forward(x, opts)
    out, dead = _forward(_work(x), axis, opts.function == "log_softmax")
    if opts.all_neg_inf == "zero":
        out.masked_fill_(dead, 0.0)
    return out.to(x.dtype)


@implementation(
    "softmax_stable_and_gradients.backward",
    ("torch_cpu", "torch_cuda"),
    "inplace",
    prepare=True,
    supports={"function": ("softmax", "log_softmax")},
)
def softmax_backward(x: Any, g: Any, opts: SoftmaxOptions) -> Callable[[], Any]:
    """Setup: the forward's output (as autograd saves it); timed: a dot or sum, then one
    in-place update of a single buffer."""
    _, axis = check_backward(x, g, opts)
    log = opts.function == "log_softmax"
    saved, dead = _forward(_work(x), axis, log)
    zero = opts.all_neg_inf == "zero" and bool(dead.any())

    def vjp() -> Any:
        gw = _work(g)
        if log:  # g - exp(saved)·Σg
            out = torch.exp(saved).mul_(gw.sum(dim=axis, keepdim=True).neg_()).add_(gw)
        else:  # s·(g - <g, s>)
            out = torch.mul(gw, saved)
            out = torch.sub(gw, out.sum(dim=axis, keepdim=True)).mul_(saved)
        if zero:
            out.masked_fill_(dead, 0.0)
        return out.to(g.dtype)

    return vjp
