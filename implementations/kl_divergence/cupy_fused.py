"""kl_divergence in CuPy: one fused ElementwiseKernel (none) or ReductionKernel (sum, mean,
batchmean) over input and target; log p only where p > 0; the total is summed in float64.
"""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.kl_divergence import KlOptions, check

_PREAMBLE = r"""
template <typename T>
__device__ T kl_term(T x, T t, bool log_target, bool zero_rule) {
    T v;
    bool zero;
    if (log_target) {
        v = exp(t) * (t - x);
        zero = isinf(t) && t < 0;
    } else {
        v = t * ((t > 0 ? log(t) : T(0)) - x);
        zero = t == 0;
    }
    return (zero_rule && zero && x == x) ? T(0) : v;
}
"""
_ELEMENTWISE = cp.ElementwiseKernel(
    "T x, T t, bool log_target, bool zero_rule", "T y", "y = kl_term(x, t, log_target, zero_rule);",
    "opshootout_kl_terms", preamble=_PREAMBLE,
)  # fmt: skip
_REDUCE = cp.ReductionKernel(
    "T x, T t, bool log_target, bool zero_rule", "float64 y",
    "(double)kl_term(x, t, log_target, zero_rule)", "a + b", "y = a", "0",
    "opshootout_kl_sum", preamble=_PREAMBLE,
)  # fmt: skip


@implementation("kl_divergence", "cupy", "fused")
def kl_divergence(input: Any, target: Any, opts: KlOptions) -> Any:
    """One fused kernel: elementwise for none, map-reduce for the reductions."""
    dtype = check(input, target, opts)
    flags = (opts.log_target, opts.zero_target == "zero")
    if opts.reduction == "none":
        return _ELEMENTWISE(input, target, *flags)
    total = _REDUCE(input, target, *flags)
    if opts.reduction == "sum":
        return total.astype(dtype)
    count = input.size if opts.reduction == "mean" else input.shape[0]
    return (total / count if count else cp.asarray(cp.nan)).astype(dtype)
