"""relu_forward_backward in Numba: one parallel loop over the flat values each way (the
comparison and the select fused, no mask array)."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from harness.numba_threads import threaded_njit
from suites.relu_forward_backward import ARGS, ReluBackwardOptions, ReluOptions, check_backward


@threaded_njit()
def _forward(x: Any, keep_nan: bool, out: Any) -> None:  # pragma: no cover - compiled
    zero = out.dtype.type(0)
    for i in numba.prange(x.size):
        v = x[i]
        out[i] = v if (v > 0 or (keep_nan and v != v)) else zero


@threaded_njit()
def _backward(x: Any, g: Any, at_zero: bool, out: Any) -> None:  # pragma: no cover
    zero = out.dtype.type(0)
    for i in numba.prange(x.size):
        v = x[i]
        out[i] = zero if (v < 0 or (v == 0 and not at_zero)) else g[i]  # NaN v: g


@implementation("relu_forward_backward", "numba", "parallel")
def relu(x: Any, opts: ReluOptions) -> Any:
    """prange over the values; NaN kept by its own test (v != v)."""
    ARGS.check(x)
    out = np.empty_like(x)
    _forward(np.ascontiguousarray(x).reshape(-1), opts.nan == "propagate", out.reshape(-1))
    return out


@implementation("relu_forward_backward.backward", "numba", "parallel")
def relu_backward(x: Any, g: Any, opts: ReluBackwardOptions) -> Any:
    """prange over the values; 0 where x <= 0 (or < 0), g elsewhere."""
    check_backward(x, g)
    out = np.empty_like(g)
    _backward(np.ascontiguousarray(x).reshape(-1), np.ascontiguousarray(g).reshape(-1),
              opts.grad_at_zero == "one", out.reshape(-1))  # fmt: skip
    return out
