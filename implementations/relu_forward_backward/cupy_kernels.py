"""relu_forward_backward in CuPy: the forward as one ElementwiseKernel (comparison and
select fused, NaN kept by its own test)."""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.relu_forward_backward import ARGS, ReluOptions

_FORWARD = cp.ElementwiseKernel(
    "T x, bool keep_nan", "T y", "y = (x > 0 || (keep_nan && x != x)) ? x : (T)0",
    "opshootout_relu_forward",
)  # fmt: skip


@implementation("relu_forward_backward", "cupy", "kernels")
def relu(x: Any, opts: ReluOptions) -> Any:
    """One fused kernel."""
    ARGS.check(x)
    return _FORWARD(x, opts.nan == "propagate")
