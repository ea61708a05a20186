"""smooth_l1_huber in CuPy: one fused ElementwiseKernel (none) or ReductionKernel (sum, mean,
per positive) over pred and target, branch-free with m = min(|d|, β); the total is summed
in float64.
"""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.smooth_l1_huber import SmoothL1Options, check

_PREAMBLE = r"""
template <typename T>
__device__ T smooth_l1_term(T p, T t, T b, T scale, T slope) {
    const T a = fabs(p - t);
    const T m = (a != a || a < b) ? a : b;  // min(|d|, b); NaN stays NaN
    return scale * m * m + slope * (a - m);
}
"""
_ELEMENTWISE = cp.ElementwiseKernel(
    "T p, T t, T b, T scale, T slope", "T y", "y = smooth_l1_term(p, t, b, scale, slope);",
    "opshootout_smooth_l1", preamble=_PREAMBLE,
)  # fmt: skip
_REDUCE = cp.ReductionKernel(
    "T p, T t, T b, T scale, T slope", "float64 y",
    "(double)smooth_l1_term(p, t, b, scale, slope)", "a + b", "y = a", "0",
    "opshootout_smooth_l1_sum", preamble=_PREAMBLE,
)  # fmt: skip


@implementation("smooth_l1_huber", "cupy", "fused")
def smooth_l1_huber(pred: Any, target: Any, positive: Any, beta: Any,
                    opts: SmoothL1Options) -> Any:  # fmt: skip
    """One fused kernel: elementwise for none, map-reduce for the reductions."""
    dtype = check(pred, target, positive, beta, opts)
    if opts.reduction == "per_positive":
        pred, target = pred[positive], target[positive]
    b, huber = float(beta), opts.loss == "huber"
    scale = 0.5 if huber else (0.5 / b if b > 0 else 0.0)
    args = (dtype.type(b), dtype.type(scale), dtype.type(b if huber else 1.0))
    if opts.reduction == "none":
        return _ELEMENTWISE(pred, target, *args)
    total = _REDUCE(pred, target, *args)
    if opts.reduction == "sum":
        return total.astype(dtype)
    if opts.reduction == "per_positive":
        return (total / max(1, pred.shape[0])).astype(dtype)
    return (total / pred.size if pred.size else cp.asarray(cp.nan)).astype(dtype)
