"""lr_step_exponential_plateau in pure Python: one pass over the epochs. The closed forms
recompute the power only when the decay count moves (milestones sorted once and walked with
a pointer); the chained forms multiply the running lr at those epochs; the plateau rule is a
small state machine over the metrics."""

from __future__ import annotations

import math
from typing import Any

from harness import implementation
from suites.lr_step_exponential_plateau import ARGS, LrOptions


def _plateau(metrics: list[float], opts: LrOptions) -> list[float]:
    if not metrics:
        return []
    lower = opts.mode == "min"
    rel = opts.threshold_mode == "rel"
    scale = 1.0 - opts.threshold if lower else opts.threshold + 1.0
    shift = -opts.threshold if lower else opts.threshold
    lr, best = opts.base_lr, math.inf if lower else -math.inf
    bad = cooling = 0
    out = [lr]
    for m in metrics[:-1]:
        bar = best * scale if rel else best + shift
        if (m < bar) if lower else (m > bar):
            best, bad = m, 0
        else:
            bad += 1
        if cooling:
            cooling, bad = cooling - 1, 0
        if bad > opts.patience:
            new = max(lr * opts.factor, opts.min_lr)
            if lr - new > opts.eps:
                lr = new
            cooling, bad = opts.cooldown, 0
        out.append(lr)
    return out


@implementation("lr_step_exponential_plateau", "python", "loops", max_flops=1e7)
def lr_schedule(metrics: Any, milestones: Any, opts: LrOptions) -> Any:
    """One pass; a power (closed) or a product (chained) only where the count changes."""
    ARGS.check(metrics, milestones)
    if opts.schedule == "plateau":
        return _plateau(metrics, opts)
    stones, seen = sorted(milestones), 0
    lr, k, out = opts.base_lr, 0, []
    for e in range(len(metrics)):
        if opts.schedule == "step":
            now = e // opts.step_size
        elif opts.schedule == "multistep":
            while seen < len(stones) and stones[seen] <= e:
                seen += 1
            now = seen
        else:
            now = e
        if now != k:
            lr = (
                opts.base_lr * opts.gamma**now
                if opts.form == "closed"
                else lr * opts.gamma ** (now - k)
            )
            k = now
        out.append(lr)
    return out
