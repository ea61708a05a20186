"""rmsprop through torch.optim.RMSprop itself: the optimizer is built on the given tensors,
its state restored from the inputs (step, square_avg, and momentum_buffer / grad_avg where
torch keeps them), then stepped once per injected gradient with the group's lr set per step.
torch updates the state tensors it was handed in place."""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.rmsprop import RmspropOptions, check


def _run(params: Any, grads: Any, lrs: Any, square_avg: Any, grad_avg: Any,
    momentum_buffer: Any, step: Any, opts: RmspropOptions, foreach: bool) -> None:  # fmt: skip
    check(params, grads, lrs, square_avg, grad_avg, momentum_buffer, step)
    if not params:
        return
    opt = torch.optim.RMSprop(
        params, lr=0.0, alpha=opts.alpha, eps=opts.eps, weight_decay=opts.weight_decay,
        momentum=opts.momentum, centered=opts.centered, maximize=opts.maximize, foreach=foreach,
    )  # fmt: skip
    for i, p in enumerate(params):
        state = {"step": torch.tensor(float(step[i])), "square_avg": square_avg[i]}
        if opts.momentum > 0:
            state["momentum_buffer"] = momentum_buffer[i]
        if opts.centered:
            state["grad_avg"] = grad_avg[i]
        opt.state[p] = state
    group = opt.param_groups[0]
    for k, lr in enumerate(lrs.tolist()):
        group["lr"] = lr
        for p, g in zip(params, grads, strict=True):
            p.grad = g[k]
        opt.step()
    for i, p in enumerate(params):
        p.grad = None
        step[i] = int(opt.state[p]["step"].item())


SUPPORTS = {"convention": ("torch",)}


@implementation(
    "rmsprop", "library", "torch", arrays="torch_cpu", requires=("torch",), supports=SUPPORTS
)
def rmsprop(params: Any, grads: Any, lrs: Any, square_avg: Any, grad_avg: Any,
    momentum_buffer: Any, step: Any, opts: RmspropOptions) -> None:  # fmt: skip
    """torch.optim.RMSprop(foreach=False): the single-tensor loop torch runs on CPU."""
    _run(params, grads, lrs, square_avg, grad_avg, momentum_buffer, step, opts, foreach=False)


@implementation(
    "rmsprop", "library", "torch_foreach", arrays="torch_cpu", requires=("torch",),
    supports=SUPPORTS,
)  # fmt: skip
def rmsprop_foreach(params: Any, grads: Any, lrs: Any, square_avg: Any, grad_avg: Any,
    momentum_buffer: Any, step: Any, opts: RmspropOptions) -> None:  # fmt: skip
    """torch.optim.RMSprop(foreach=True): the multi-tensor path torch takes on CUDA."""
    _run(params, grads, lrs, square_avg, grad_avg, momentum_buffer, step, opts, foreach=True)
