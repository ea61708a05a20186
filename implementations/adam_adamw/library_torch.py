"""adam_adamw through torch.optim.Adam / AdamW: the given tensors become the optimizer's
parameters and state (so its in-place updates land in them), one .step() per learning rate.

torch keeps each parameter's step as a float32 tensor; it is loaded from and written back to
the int64 counters. An empty parameter list cannot build a torch optimizer: nothing to step.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.adam_adamw import AdamOptions, check


def _run(params: Any, grads: Any, lrs: Any, exp_avg: Any, exp_avg_sq: Any,
    max_exp_avg_sq: Any, step: Any, opts: AdamOptions, fused: bool) -> None:  # fmt: skip
    if not params:
        return
    kind = torch.optim.AdamW if opts.decoupled else torch.optim.Adam
    opt = kind(
        params,
        lr=0.0,
        betas=(opts.beta1, opts.beta2),
        eps=opts.eps,
        weight_decay=opts.weight_decay,
        amsgrad=opts.amsgrad,
        maximize=opts.maximize,
        foreach=False,
        fused=fused,
    )
    for i, p in enumerate(params):
        opt.state[p] = {
            "step": torch.tensor(float(step[i]), dtype=torch.float32, device=p.device),
            "exp_avg": exp_avg[i],
            "exp_avg_sq": exp_avg_sq[i],
            "max_exp_avg_sq": max_exp_avg_sq[i],
        }
    for k, lr in enumerate(lrs.tolist()):
        opt.param_groups[0]["lr"] = lr
        for p, g in zip(params, grads, strict=True):
            p.grad = g[k]
        opt.step()
    for i, p in enumerate(params):
        p.grad = None
        step[i] = int(opt.state[p]["step"].item())


SUPPORTS = {"eps_placement": ("torch",)}


@implementation(
    "adam_adamw", "library", "torch", arrays="torch_cpu", requires=("torch",), supports=SUPPORTS
)
def adam(params: Any, grads: Any, lrs: Any, exp_avg: Any, exp_avg_sq: Any,
    max_exp_avg_sq: Any, step: Any, opts: AdamOptions) -> None:  # fmt: skip
    """torch.optim.Adam / AdamW, single-tensor path (torch's CPU default), one step per lr."""
    check(params, grads, lrs, exp_avg, exp_avg_sq, max_exp_avg_sq, step)
    _run(params, grads, lrs, exp_avg, exp_avg_sq, max_exp_avg_sq, step, opts, fused=False)


@implementation(
    "adam_adamw", "library", "torch_fused", arrays="torch_cpu", requires=("torch",),
    supports=SUPPORTS,
)  # fmt: skip
@implementation(
    "adam_adamw", "library", "torch_cuda_fused", arrays="torch_cuda", requires=("torch",),
    supports=SUPPORTS,
)  # fmt: skip
def adam_fused(params: Any, grads: Any, lrs: Any, exp_avg: Any, exp_avg_sq: Any,
    max_exp_avg_sq: Any, step: Any, opts: AdamOptions) -> None:  # fmt: skip
    """torch.optim.Adam / AdamW with fused=True: one vectorised kernel per step (the CPU
    kernel, or the multi-tensor CUDA one on a device)."""
    check(params, grads, lrs, exp_avg, exp_avg_sq, max_exp_avg_sq, step)
    _run(params, grads, lrs, exp_avg, exp_avg_sq, max_exp_avg_sq, step, opts, fused=True)
