"""lr_cosine_warm_restarts through the array API (NumPy, torch CPU/CUDA, CuPy): the exact
integer restart points up to the largest epoch are built on the host (a few dozen for
T_mult > 1), every epoch finds its cycle with one searchsorted, and the cosine is evaluated
for all epochs at once. Counter-stepped annealing uses the closed form (within the spec's
1e-12 of torch's recursion)."""

from __future__ import annotations

import math
from typing import Any

from array_api_compat import array_namespace, device

from harness import implementation
from suites.lr_cosine_warm_restarts import ARGS, CosineOptions


@implementation("lr_cosine_warm_restarts", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "xp")
def lr_schedule(epochs: Any, opts: CosineOptions) -> Any:
    """One searchsorted into the restart points, one vectorised cosine."""
    ARGS.check(epochs)
    xp, dev = array_namespace(epochs), device(epochs)
    f64 = xp.float64
    n = epochs.shape[0]
    if n == 0:
        return xp.zeros(0, dtype=f64, device=dev)
    if opts.stepping == "counter":
        e = xp.arange(n, dtype=f64, device=dev)
    else:
        e = xp.astype(epochs, f64)
    if opts.schedule == "annealing":
        t_cur, period = e, float(opts.t_max)
    else:
        last = float(xp.max(e))
        starts, periods, start, length = [0], [opts.t_0], 0, opts.t_0
        while start + length <= last:
            start, length = start + length, length * opts.t_mult
            starts.append(start)
            periods.append(length)
        first = xp.asarray(starts, dtype=f64, device=dev)
        k = xp.searchsorted(first, e, side="right") - 1
        t_cur = e - xp.take(first, k)
        period = xp.take(xp.asarray(periods, dtype=f64, device=dev), k)
    half = (opts.base_lr - opts.eta_min) / 2
    return opts.eta_min + half * (1 + xp.cos(math.pi * t_cur / period))
