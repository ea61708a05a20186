"""lr_linear_scaling_warmup through the array API (NumPy, torch CPU/CUDA, CuPy): the warmup
ramp from one arange, the main part as one scaled copy of main, joined and repeated per
epoch with one broadcast."""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace, device

from harness import implementation
from suites.lr_linear_scaling_warmup import ARGS, WarmupOptions


@implementation("lr_linear_scaling_warmup", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "xp")
def lr_schedule(main: Any, opts: WarmupOptions) -> Any:
    """Vectorised over the steps."""
    ARGS.check(main)
    xp, dev = array_namespace(main), device(main)
    f64 = xp.float64
    lr = opts.base_lr * opts.batch / opts.base_batch
    w, f, steps = opts.warmup, opts.start_factor, main.shape[0]
    s = xp.arange(min(w, steps), dtype=f64, device=dev)
    ramp = lr * (f + (1 - f) * s / max(w, 1))
    out = xp.concat([ramp, lr * xp.astype(main[: max(steps - w, 0)], f64)])
    hold = opts.iters_per_epoch if opts.unit == "epoch" else 1
    if hold == 1:
        return out
    return xp.reshape(xp.broadcast_to(out[:, None], (steps, hold)), (steps * hold,))
