"""rmsprop in torch, any device: in-place ops (addcmul_, lerp_, addcdiv_) into two scratch
buffers, blocked across the steps on the CPU: each parameter goes through chunks of 65,536
values that take all T steps before the next chunk starts, so the chunk's state stays in L2
and only the gradients stream from memory. On a GPU a parameter is one chunk (the passes
are kernel launches there, and the whole state is what a launch should cover)."""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.rmsprop import RmspropOptions, check, group_options

CHUNK = 1 << 16


def _steps(p: Any, v: Any, gbar: Any, buf: Any, g: Any, rates: list[float],
    opts: RmspropOptions, a: Any, b: Any) -> None:  # fmt: skip
    """All steps on one chunk (g: its (T, n) rows); a and b are scratch of the chunk's size."""
    alpha, wd, mu, eps = opts.alpha, opts.weight_decay, opts.momentum, opts.eps
    tf1 = opts.convention == "tf1"
    for k, lr in enumerate(rates):
        gk = g[k]
        if wd and opts.maximize:  # g' = wd*p - g
            gk = torch.mul(p, wd, out=b).sub_(gk)
        elif wd:
            gk = torch.add(gk, p, alpha=wd, out=b)
        elif opts.maximize:
            gk = torch.neg(gk, out=b)
        v.mul_(alpha).addcmul_(gk, gk, value=1.0 - alpha)
        if opts.centered:
            gbar.lerp_(gk, 1.0 - alpha)
            var = torch.addcmul(v, gbar, gbar, value=-1.0, out=a)
        else:
            var = v
        if tf1:
            torch.add(var, eps, out=a).sqrt_()
        else:
            torch.sqrt(var, out=a).add_(eps)
        if mu > 0:
            buf.mul_(mu).addcdiv_(gk, a, value=lr if tf1 else 1.0)
            p.sub_(buf) if tf1 else p.add_(buf, alpha=-lr)
        else:
            p.addcdiv_(gk, a, value=-lr)


@implementation("rmsprop", ("torch_cpu", "torch_cuda"), "blocked")
def rmsprop(params: Any, grads: Any, lrs: Any, square_avg: Any, grad_avg: Any,
    momentum_buffer: Any, step: Any, group: Any, hyper: Any, centered: Any,
    opts: RmspropOptions) -> None:  # fmt: skip
    """Per parameter and chunk: all T steps, ~7 in-place passes each, with the parameter's
    group's settings and learning rates."""
    steps = check(params, grads, lrs, square_avg, grad_avg, momentum_buffer, step, group,
                  hyper, centered)  # fmt: skip
    columns = lrs.T.tolist()  # one device sync, not one per step
    settings, groups = group_options(opts, hyper, centered), group.tolist()
    lists = (params, square_avg, grad_avg, momentum_buffer)
    for i, p in enumerate(params):
        if p.numel() == 0 or steps == 0:
            continue
        j = groups[i]
        flats = [x[i].view(-1) for x in lists]  # the harness's state is contiguous
        g = grads[i].reshape(steps, -1)
        chunk = min(CHUNK if p.device.type == "cpu" else p.numel(), p.numel())
        a, b = p.new_empty(chunk), p.new_empty(chunk)
        for s in range(0, p.numel(), chunk):
            e = min(s + chunk, p.numel())
            p_, v_, m_, b_ = (f[s:e] for f in flats)
            _steps(p_, v_, m_, b_, g[:, s:e], columns[j], settings[j], a[: e - s], b[: e - s])
    step += steps
