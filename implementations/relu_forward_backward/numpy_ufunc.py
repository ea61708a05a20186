"""relu_forward_backward in NumPy: one ufunc pass each way. Forward np.maximum(x, 0) (NaN
propagates) or np.fmax(x, 0) (NaN gives 0); backward np.where on blocks of 64K elements, so
the boolean mask never leaves the cache.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.relu_forward_backward import ARGS, ReluBackwardOptions, ReluOptions, check_backward

BLOCK = 1 << 16  # elements: a block of x, g, the mask and dx stays in L2


@implementation("relu_forward_backward", "numpy", "ufunc")
def relu(x: Any, opts: ReluOptions) -> Any:
    """np.maximum / np.fmax against a 0-d zero of x's dtype (no promotion)."""
    ARGS.check(x)
    zero = np.zeros((), x.dtype)
    return np.maximum(x, zero) if opts.nan == "propagate" else np.fmax(x, zero)


@implementation("relu_forward_backward.backward", "numpy", "blocked")
def relu_backward(x: Any, g: Any, opts: ReluBackwardOptions) -> Any:
    """Per block: the mask x <= 0 into a reused buffer, then np.where into dx."""
    check_backward(x, g)
    xf, gf = x.reshape(-1), g.reshape(-1)
    dx = np.empty_like(gf)
    mask = np.empty(min(BLOCK, xf.size), bool)
    zero = np.zeros((), g.dtype)
    cmp = np.less_equal if opts.grad_at_zero == "zero" else np.less
    for i in range(0, xf.size, BLOCK):
        m = cmp(xf[i : i + BLOCK], 0, out=mask[: min(BLOCK, xf.size - i)])
        np.copyto(dx[i : i + BLOCK], np.where(m, zero, gf[i : i + BLOCK]))
    return dx.reshape(g.shape)
