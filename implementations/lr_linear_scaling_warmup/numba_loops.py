"""lr_linear_scaling_warmup in Numba: one compiled pass writing every iteration's lr (the
ramp, then the scaled main multipliers, each held for its epoch's iterations)."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.lr_linear_scaling_warmup import ARGS, WarmupOptions


@numba.njit(cache=False)
def _fill(main: Any, lr: float, w: int, f: float, hold: int) -> Any:  # pragma: no cover
    steps = main.shape[0]
    out = np.empty(steps * hold)
    for s in range(steps):
        v = lr * (f + (1 - f) * s / w) if s < w else lr * main[s - w]
        for j in range(hold):
            out[s * hold + j] = v
    return out


@implementation("lr_linear_scaling_warmup", "numba", "loops")
def lr_schedule(main: Any, opts: WarmupOptions) -> Any:
    """Compiled loop; main in float64."""
    ARGS.check(main)
    lr = opts.base_lr * opts.batch / opts.base_batch
    hold = opts.iters_per_epoch if opts.unit == "epoch" else 1
    return _fill(main.astype(np.float64), lr, opts.warmup, float(opts.start_factor), hold)
