"""sgd_momentum in torch (CPU or CUDA): step by step over all parameters that have a gradient
that step, with the multi-tensor _foreach kernels (one launch per operation for the whole
list on CUDA); the mask and the lrs are read to the host once, not once per step."""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.sgd_momentum import SgdOptions, check_sgd


@implementation("sgd_momentum", ("torch_cpu", "torch_cuda"), "foreach")
def sgd(params: Any, grads: Any, has_grad: Any, lrs: Any, momentum_buffers: Any,
    steps_done: Any, opts: SgdOptions) -> None:  # fmt: skip
    """Up to five _foreach passes a step; gradients are never written (copies where needed)."""
    t, n = check_sgd(params, grads, has_grad, lrs, momentum_buffers, steps_done)
    mu, tau, wd = opts.momentum, opts.dampening, opts.weight_decay
    mask, rates = has_grad.tolist(), lrs.tolist()
    started = [k > 0 for k in steps_done.tolist()]
    for step in range(t):
        active = [i for i in range(n) if mask[step][i]]
        if not active:
            continue
        ps = [params[i] for i in active]
        gs: Any = [grads[i][step] for i in active]
        if opts.maximize:
            gs = torch._foreach_neg(gs)
        if wd != 0:
            gs = torch._foreach_add(gs, ps, alpha=wd)
        if mu != 0:
            old = [k for k, i in enumerate(active) if started[i]]
            new = [k for k, i in enumerate(active) if not started[i]]
            if old:
                bufs = [momentum_buffers[active[k]] for k in old]
                torch._foreach_mul_(bufs, mu)
                torch._foreach_add_(bufs, [gs[k] for k in old], alpha=1 - tau)
            if new:
                torch._foreach_copy_(
                    [momentum_buffers[active[k]] for k in new], [gs[k] for k in new]
                )
            bufs = [momentum_buffers[i] for i in active]
            gs = torch._foreach_add(gs, bufs, alpha=mu) if opts.nesterov else bufs
        torch._foreach_add_(ps, gs, alpha=-rates[step])
        for i in active:
            started[i] = True
    steps_done += has_grad.sum(dim=0)
