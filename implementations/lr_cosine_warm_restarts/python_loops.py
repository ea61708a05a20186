"""lr_cosine_warm_restarts in pure Python: one pass over the epochs, the current cycle
(start, period) kept between values and moved forward (or, for an earlier epoch, rebuilt from
zero) with exact integer restart points; the cosine's scale factored out of the loop."""

from __future__ import annotations

import math
from typing import Any

from harness import implementation
from suites.lr_cosine_warm_restarts import ARGS, CosineOptions


def _recursive(n: int, opts: CosineOptions) -> list[float]:
    out, lr, t, low = [], opts.base_lr, opts.t_max, opts.eta_min
    bump = (opts.base_lr - low) * (1 - math.cos(math.pi / t)) / 2
    prev = 2.0  # 1 + cos(0)
    for e in range(n):
        now = 1 + math.cos(math.pi * e / t)
        if e > 0:
            lr = lr + bump if (e - 1 - t) % (2 * t) == 0 else now / prev * (lr - low) + low
        prev = now
        out.append(lr)
    return out


@implementation("lr_cosine_warm_restarts", "python", "loops", max_flops=1e7)
def lr_schedule(epochs: Any, opts: CosineOptions) -> Any:
    """Incremental cycle tracking; torch's recursion for counter-stepped annealing."""
    ARGS.check(epochs)
    if opts.stepping == "counter" and opts.schedule == "annealing":
        return _recursive(len(epochs), opts)
    values = range(len(epochs)) if opts.stepping == "counter" else epochs
    low, half = opts.eta_min, (opts.base_lr - opts.eta_min) / 2
    if opts.schedule == "annealing":
        return [low + half * (1 + math.cos(math.pi * e / opts.t_max)) for e in values]
    out, start, period = [], 0, opts.t_0
    for e in values:
        if opts.t_mult == 1:
            t_cur = math.fmod(e, opts.t_0)
        else:
            if e < start:  # an earlier epoch: walk again from the first cycle
                start, period = 0, opts.t_0
            while e >= start + period:
                start, period = start + period, period * opts.t_mult
            t_cur = e - start
        out.append(low + half * (1 + math.cos(math.pi * t_cur / (period))))
    return out
