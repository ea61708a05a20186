"""lr_step_exponential_plateau through the array API (NumPy, torch CPU/CUDA, CuPy): the
decay count of every epoch at once (floor division, or a searchsorted into the sorted
milestones), then lr0·γ^k as one pow (closed form) or a gather from the cumulative product of
the decay factors (chained form: the products torch forms, in the same order where the
cumulative product is sequential). ReduceLROnPlateau is a recurrence: a scalar loop."""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace, device

from harness import implementation
from suites.lr_step_exponential_plateau import ARGS, LrOptions, plateau


@implementation("lr_step_exponential_plateau", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "xp")
def lr_schedule(metrics: Any, milestones: Any, opts: LrOptions) -> Any:
    """Vectorised over the epochs; the plateau rule runs on the metrics as floats."""
    ARGS.check(metrics, milestones)
    xp, dev = array_namespace(metrics, milestones), device(metrics)
    f64 = xp.float64
    n = metrics.shape[0]
    if opts.schedule == "plateau":
        values = [float(metrics[i]) for i in range(n)]  # host scalars: a recurrence
        return xp.asarray(plateau(values, opts), dtype=f64, device=dev)
    if n == 0:
        return xp.zeros(0, dtype=f64, device=dev)
    epochs = xp.arange(n, dtype=xp.int64, device=dev)
    if opts.schedule == "multistep":
        stones, counts = xp.unique_counts(milestones)  # sorted distinct milestones
        k = xp.searchsorted(stones, epochs, side="right")  # distinct decays so far
        factors = xp.asarray(opts.gamma, dtype=f64, device=dev) ** xp.astype(counts, f64)
        if opts.form == "closed":
            total = xp.cumulative_sum(counts, include_initial=True)  # decays with repeats
            return opts.base_lr * opts.gamma ** xp.astype(xp.take(total, k), f64)
    else:
        k = epochs // opts.step_size if opts.schedule == "step" else epochs
        if opts.form == "closed":
            return opts.base_lr * opts.gamma ** xp.astype(k, f64)
        factors = xp.full(int(k[-1]), opts.gamma, dtype=f64, device=dev)
    start = xp.full(1, opts.base_lr, dtype=f64, device=dev)
    chain = xp.cumulative_prod(xp.concat([start, factors]))
    return xp.take(chain, k)
