"""relu_forward_backward in CuPy: the backward as one ElementwiseKernel (0 where x <= 0,
g elsewhere, fused)."""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.relu_forward_backward import ReluBackwardOptions, check_backward

_BACKWARD = cp.ElementwiseKernel(
    "T x, T g, bool at_zero", "T dx", "dx = (x < 0 || (x == 0 && !at_zero)) ? (T)0 : g",
    "opshootout_relu_backward",
)  # fmt: skip


@implementation("relu_forward_backward.backward", "cupy", "kernels")
def relu_backward(x: Any, g: Any, opts: ReluBackwardOptions) -> Any:
    """One fused kernel."""
    check_backward(x, g)
    return _BACKWARD(x, g, opts.grad_at_zero == "one")
