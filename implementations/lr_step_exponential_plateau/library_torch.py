"""lr_step_exponential_plateau through torch.optim.lr_scheduler on a one-parameter SGD: the
lr of each epoch is read from the param group, then the scheduler steps (step() for the
chained form, the deprecated step(epoch) that evaluates torch's closed form for the closed
one, step(metric) for ReduceLROnPlateau)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torch.optim import lr_scheduler

from harness import implementation
from suites.lr_step_exponential_plateau import ARGS, LrOptions


def _scheduler(optimizer: Any, milestones: Any, opts: LrOptions) -> Any:
    if opts.schedule == "step":
        return lr_scheduler.StepLR(optimizer, opts.step_size, opts.gamma)
    if opts.schedule == "multistep":
        return lr_scheduler.MultiStepLR(optimizer, [int(m) for m in milestones], opts.gamma)
    if opts.schedule == "exponential":
        return lr_scheduler.ExponentialLR(optimizer, opts.gamma)
    return lr_scheduler.ReduceLROnPlateau(
        optimizer,
        mode="min" if opts.mode == "min" else "max",
        factor=opts.factor,
        patience=opts.patience,
        threshold=opts.threshold,
        threshold_mode="rel" if opts.threshold_mode == "rel" else "abs",
        cooldown=opts.cooldown,
        min_lr=opts.min_lr,
        eps=opts.eps,
    )


@implementation(
    "lr_step_exponential_plateau", "library", "torch", arrays="numpy", requires=("torch",)
)
def lr_schedule(metrics: Any, milestones: Any, opts: LrOptions) -> Any:
    """torch's own schedulers, stepped once per epoch after an (empty) optimizer step."""
    ARGS.check(metrics, milestones)
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=opts.base_lr)
    group = optimizer.param_groups[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # step(epoch) is deprecated; it is the closed form
        scheduler = _scheduler(optimizer, milestones, opts)
        out = []
        for e, metric in enumerate(metrics.tolist()):
            out.append(float(group["lr"]))
            optimizer.step()  # no gradients: nothing moves, the scheduler sees the usual order
            if opts.schedule == "plateau":
                scheduler.step(metric)
            elif opts.form == "closed":
                scheduler.step(e + 1)
            else:
                scheduler.step()
    return np.array(out, dtype=np.float64)
