"""lr_step_exponential_plateau in Numba: one compiled pass over the epochs for every schedule
(the milestones sorted once and walked with a pointer, a power or a product only where the
decay count moves), and the plateau state machine as a compiled loop."""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.lr_step_exponential_plateau import ARGS, LrOptions

SCHEDULES = {"step": 0, "multistep": 1, "exponential": 2}


@numba.njit(cache=False)
def _decaying(
    n: int, stones: Any, kind: int, step_size: int, base: float, gamma: float, closed: bool
) -> Any:  # pragma: no cover - compiled
    out = np.empty(n)
    lr, k, seen = base, 0, 0
    for e in range(n):
        if kind == 0:
            now = e // step_size
        elif kind == 1:
            while seen < stones.shape[0] and stones[seen] <= e:
                seen += 1
            now = seen
        else:
            now = e
        if now != k:
            lr = base * gamma ** float(now) if closed else lr * gamma ** float(now - k)
            k = now
        out[e] = lr
    return out


@numba.njit(cache=False)
def _plateau(
    metrics: Any,
    lower: bool,
    rel: bool,
    base: float,
    factor: float,
    patience: int,
    threshold: float,
    cooldown: int,
    min_lr: float,
    eps: float,
) -> Any:  # pragma: no cover - compiled
    n = metrics.shape[0]
    out = np.empty(n)
    lr = base
    best = math.inf if lower else -math.inf
    scale = 1.0 - threshold if lower else threshold + 1.0
    shift = -threshold if lower else threshold
    bad, cooling = 0, 0
    for e in range(n):
        out[e] = lr
        m = metrics[e]
        bar = best * scale if rel else best + shift
        if (m < bar) if lower else (m > bar):
            best, bad = m, 0
        else:
            bad += 1
        if cooling > 0:
            cooling -= 1
            bad = 0
        if bad > patience:
            new = max(lr * factor, min_lr)
            if lr - new > eps:
                lr = new
            cooling, bad = cooldown, 0
    return out


@implementation("lr_step_exponential_plateau", "numba", "loops")
def lr_schedule(metrics: Any, milestones: Any, opts: LrOptions) -> Any:
    """Compiled scalar loops; metrics in float64 (the arithmetic torch's float() does)."""
    ARGS.check(metrics, milestones)
    if opts.schedule == "plateau":
        return _plateau(
            metrics.astype(np.float64), opts.mode == "min", opts.threshold_mode == "rel",
            float(opts.base_lr), float(opts.factor), opts.patience, float(opts.threshold),
            opts.cooldown, float(opts.min_lr), float(opts.eps),
        )  # fmt: skip
    return _decaying(
        metrics.shape[0], np.sort(milestones.astype(np.int64)), SCHEDULES[opts.schedule],
        opts.step_size, float(opts.base_lr), float(opts.gamma), opts.form == "closed",
    )  # fmt: skip
