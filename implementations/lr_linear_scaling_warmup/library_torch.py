"""lr_linear_scaling_warmup through torch.optim.lr_scheduler: SequentialLR of LinearLR
(start_factor=f, total_iters=w) and a LambdaLR reading the main multipliers, milestones=[w],
on a one-parameter SGD built at the linearly scaled lr; read, then step, once per step."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torch.optim import lr_scheduler

from harness import implementation
from suites.lr_linear_scaling_warmup import ARGS, WarmupOptions


@implementation("lr_linear_scaling_warmup", "library", "torch", arrays="numpy", requires=("torch",))
def lr_schedule(main: Any, opts: WarmupOptions) -> Any:
    """torch's own schedulers; LambdaLR alone when there is no warmup."""
    ARGS.check(main)
    lr = opts.base_lr * opts.batch / opts.base_batch
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    group, values = optimizer.param_groups[0], main.tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        after: Any = lr_scheduler.LambdaLR(
            optimizer, lambda k: values[k] if k < len(values) else 1.0
        )
        scheduler: Any = after
        if opts.warmup > 0:
            ramp = lr_scheduler.LinearLR(optimizer, opts.start_factor, 1.0, opts.warmup)
            scheduler = lr_scheduler.SequentialLR(optimizer, [ramp, after], [opts.warmup])
        out = []
        for _ in values:
            out.append(float(group["lr"]))
            optimizer.step()
            scheduler.step()
    hold = opts.iters_per_epoch if opts.unit == "epoch" else 1
    return np.repeat(np.array(out, dtype=np.float64), hold)
