"""lr_cosine_warm_restarts through torch.optim.lr_scheduler on a one-parameter SGD:
CosineAnnealingWarmRestarts or CosineAnnealingLR, moved to each requested epoch with
step(epoch) (the closed form; deprecated for CosineAnnealingLR but still its closed form) or
stepped with step() for the counter, and the lr read from the param group."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torch.optim import lr_scheduler

from harness import implementation
from suites.lr_cosine_warm_restarts import ARGS, LOG_ROUNDING, CosineOptions

WHY = (
    "torch's step(epoch) finds the cycle with int(math.log(x, T_mult)), whose rounding "
    "puts an epoch at (or one ulp before) a restart in the wrong cycle: eta_min for base_lr"
)


@implementation(
    "lr_cosine_warm_restarts", "library", "torch", arrays="numpy", requires=("torch",),
    expected_failures=dict.fromkeys(LOG_ROUNDING, WHY),
)  # fmt: skip
def lr_schedule(epochs: Any, opts: CosineOptions) -> Any:
    """torch's own schedulers, one step per requested value."""
    ARGS.check(epochs)
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=opts.base_lr)
    group = optimizer.param_groups[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # step(epoch) of CosineAnnealingLR is deprecated
        if opts.schedule == "annealing":
            scheduler: Any = lr_scheduler.CosineAnnealingLR(optimizer, opts.t_max, opts.eta_min)
        else:
            scheduler = lr_scheduler.CosineAnnealingWarmRestarts(
                optimizer, opts.t_0, opts.t_mult, opts.eta_min
            )
        out = []
        for i, e in enumerate(epochs.tolist()):
            if opts.stepping == "epoch":
                scheduler.step(e)
            elif i > 0:
                scheduler.step()
            out.append(float(group["lr"]))
    return np.array(out, dtype=np.float64)
