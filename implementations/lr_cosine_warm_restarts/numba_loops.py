"""lr_cosine_warm_restarts in Numba: one compiled pass over the epochs keeping the current
cycle (start, period) and moving it forward with exact integer restart points (a floored
quotient, corrected where it rounds, for T_mult = 1),
and torch's recursion for counter-stepped annealing."""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.lr_cosine_warm_restarts import ARGS, CosineOptions


@numba.njit(cache=False)
def _restarts(
    values: Any, t_0: int, t_mult: int, base: float, low: float, annealing: bool
) -> Any:  # pragma: no cover - compiled
    n = values.shape[0]
    out = np.empty(n)
    half = (base - low) / 2
    start, period = 0.0, float(t_0)
    for i in range(n):
        e = values[i]
        if annealing:
            t_cur = e
        elif t_mult == 1:  # the quotient's floor, corrected by one period where it rounds
            start = period * math.floor(e / period)
            if start > e:
                start -= period
            elif e >= start + period:
                start += period
            t_cur = e - start
        else:
            if e < start:
                start, period = 0.0, float(t_0)
            while e >= start + period:
                start, period = start + period, period * t_mult
            t_cur = e - start
        out[i] = low + half * (1 + math.cos(math.pi * t_cur / period))
    return out


@numba.njit(cache=False)
def _recursive(n: int, t: int, base: float, low: float) -> Any:  # pragma: no cover - compiled
    out = np.empty(n)
    lr, prev = base, 2.0
    bump = (base - low) * (1 - math.cos(math.pi / t)) / 2
    for e in range(n):
        now = 1 + math.cos(math.pi * e / t)
        if e > 0:
            lr = lr + bump if (e - 1 - t) % (2 * t) == 0 else now / prev * (lr - low) + low
        prev = now
        out[e] = lr
    return out


@implementation("lr_cosine_warm_restarts", "numba", "loops")
def lr_schedule(epochs: Any, opts: CosineOptions) -> Any:
    """Compiled scalar loop; epochs in float64."""
    ARGS.check(epochs)
    n, base, low = epochs.shape[0], float(opts.base_lr), float(opts.eta_min)
    annealing = opts.schedule == "annealing"
    if opts.stepping == "counter" and annealing:
        return _recursive(n, opts.t_max, base, low)
    values = np.arange(n, dtype=np.float64) if opts.stepping == "counter" else epochs
    period = opts.t_max if annealing else opts.t_0
    return _restarts(values.astype(np.float64), period, opts.t_mult, base, low, annealing)
