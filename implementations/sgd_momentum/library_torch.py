"""sgd_momentum through torch.optim.SGD itself: the optimizer is built on the given tensors,
its momentum buffers restored from the state (a parameter with steps_done > 0 has one), and
stepped T times with p.grad and the group's lr set per step; the buffers torch creates on a
first step are copied back into momentum_buffers."""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.sgd_momentum import SgdOptions, check_sgd


def _run(
    params: Any,
    grads: Any,
    has_grad: Any,
    lrs: Any,
    momentum_buffers: Any,
    steps_done: Any,
    opts: SgdOptions,
    foreach: bool,
) -> None:
    _, n = check_sgd(params, grads, has_grad, lrs, momentum_buffers, steps_done)
    if n == 0:
        return
    optimizer = torch.optim.SGD(
        params, lr=0.0, momentum=opts.momentum, dampening=opts.dampening,
        weight_decay=opts.weight_decay, nesterov=opts.nesterov, maximize=opts.maximize,
        foreach=foreach,
    )  # fmt: skip
    started = steps_done.tolist()
    if opts.momentum != 0:
        for p, buf, k in zip(params, momentum_buffers, started, strict=True):
            if k > 0:
                optimizer.state[p]["momentum_buffer"] = buf
    # foreach Nesterov adds mu*buf into the gradient tensors in place (when neither maximize
    # nor weight decay made a copy first): hand it copies so the input gradients survive
    copy = foreach and opts.nesterov and not opts.maximize and opts.weight_decay == 0
    mask, group = has_grad.tolist(), optimizer.param_groups[0]
    for step, lr in enumerate(lrs.tolist()):
        group["lr"] = lr
        for i, p in enumerate(params):
            g = grads[i][step] if mask[step][i] else None
            p.grad = g.clone() if copy and g is not None else g
        optimizer.step()
    for p in params:
        p.grad = None
    if opts.momentum != 0:
        for p, buf in zip(params, momentum_buffers, strict=True):
            state = optimizer.state[p].get("momentum_buffer")
            if state is not None and state is not buf:
                buf.copy_(state)
    steps_done += has_grad.sum(dim=0)


@implementation("sgd_momentum", "library", "torch", arrays="torch_cpu", requires=("torch",))
def sgd(params: Any, grads: Any, has_grad: Any, lrs: Any, momentum_buffers: Any,
    steps_done: Any, opts: SgdOptions) -> None:  # fmt: skip
    """torch.optim.SGD(foreach=False): the single-tensor loop torch runs on CPU tensors."""
    _run(params, grads, has_grad, lrs, momentum_buffers, steps_done, opts, foreach=False)


@implementation("sgd_momentum", "library", "torch_foreach", arrays="torch_cpu", requires=("torch",))
def sgd_foreach(params: Any, grads: Any, has_grad: Any, lrs: Any, momentum_buffers: Any,
    steps_done: Any, opts: SgdOptions) -> None:  # fmt: skip
    """torch.optim.SGD(foreach=True): the multi-tensor path torch takes on CUDA tensors."""
    _run(params, grads, has_grad, lrs, momentum_buffers, steps_done, opts, foreach=True)
