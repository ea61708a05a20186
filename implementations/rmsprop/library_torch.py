"""rmsprop through torch.optim.RMSprop itself: the optimizer is built on the given tensors,
one param_group per group with that group's settings, its state restored from the inputs
(step, square_avg, and momentum_buffer / grad_avg where the group keeps them), then stepped
once per injected gradient with every group's lr set per step.
torch updates the state tensors it was handed in place."""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.rmsprop import RmspropOptions, check, group_options


def _run(params: Any, grads: Any, lrs: Any, square_avg: Any, grad_avg: Any,
    momentum_buffer: Any, step: Any, groups: tuple[Any, Any, Any], opts: RmspropOptions,
    foreach: bool) -> None:  # fmt: skip
    check(params, grads, lrs, square_avg, grad_avg, momentum_buffer, step, *groups)
    if not params:
        return
    group, hyper, centered = groups
    members = group.tolist()
    param_groups = [
        {"params": [p for p, m in zip(params, members, strict=True) if m == j], "lr": 0.0,
         "alpha": o.alpha, "eps": o.eps, "weight_decay": o.weight_decay,
         "momentum": o.momentum, "centered": o.centered}
        for j, o in enumerate(group_options(opts, hyper, centered))
    ]  # fmt: skip
    opt = torch.optim.RMSprop(param_groups, maximize=opts.maximize, foreach=foreach)
    for i, p in enumerate(params):
        o = opt.param_groups[members[i]]
        state = {"step": torch.tensor(float(step[i])), "square_avg": square_avg[i]}
        if o["momentum"] > 0:
            state["momentum_buffer"] = momentum_buffer[i]
        if o["centered"]:
            state["grad_avg"] = grad_avg[i]
        opt.state[p] = state
    for k, rates in enumerate(lrs.tolist()):
        for pg, lr in zip(opt.param_groups, rates, strict=True):
            pg["lr"] = lr
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
    momentum_buffer: Any, step: Any, group: Any, hyper: Any, centered: Any,
    opts: RmspropOptions) -> None:  # fmt: skip
    """torch.optim.RMSprop(foreach=False): the single-tensor loop torch runs on CPU."""
    _run(
        params,
        grads,
        lrs,
        square_avg,
        grad_avg,
        momentum_buffer,
        step,
        (group, hyper, centered),
        opts,
        foreach=False,
    )


@implementation(
    "rmsprop", "library", "torch_foreach", arrays="torch_cpu", requires=("torch",),
    supports=SUPPORTS,
)  # fmt: skip
def rmsprop_foreach(params: Any, grads: Any, lrs: Any, square_avg: Any, grad_avg: Any,
    momentum_buffer: Any, step: Any, group: Any, hyper: Any, centered: Any,
    opts: RmspropOptions) -> None:  # fmt: skip
    """torch.optim.RMSprop(foreach=True): the multi-tensor path torch takes on CUDA."""
    _run(
        params,
        grads,
        lrs,
        square_avg,
        grad_avg,
        momentum_buffer,
        step,
        (group, hyper, centered),
        opts,
        foreach=True,
    )
