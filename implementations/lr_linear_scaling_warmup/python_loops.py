"""lr_linear_scaling_warmup in pure Python: the scaled lr once, the warmup ramp as one
multiply-add per step, the main part as one product per step, each lr repeated for the
iterations of its epoch."""

from __future__ import annotations

from typing import Any

from harness import implementation
from suites.lr_linear_scaling_warmup import ARGS, WarmupOptions


@implementation("lr_linear_scaling_warmup", "python", "loops", max_flops=1e7)
def lr_schedule(main: Any, opts: WarmupOptions) -> Any:
    """One pass over the scheduler steps."""
    ARGS.check(main)
    lr = opts.base_lr * opts.batch / opts.base_batch
    w, f = opts.warmup, opts.start_factor
    steps = len(main)
    ramp = [lr * (f + (1 - f) * s / w) for s in range(min(w, steps))]
    out = ramp + [lr * m for m in main[: max(steps - w, 0)]]
    hold = opts.iters_per_epoch if opts.unit == "epoch" else 1
    return [v for v in out for _ in range(hold)] if hold > 1 else out
