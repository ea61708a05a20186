"""kl_divergence with Numba: one fused pass over input and target, each term written
(none) or added to a float64 total; log p only where p > 0. One thread.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.kl_divergence import KlOptions, check

# no "nnan"/"ninf": NaN and ±inf terms are part of the answer
_FAST = {"reassoc", "contract", "nsz", "arcp"}


@numba.njit(fastmath=_FAST, cache=False, error_model="numpy")
def _fused(x: Any, t: Any, log_target: bool, zero_rule: bool, nil: Any, out: Any) -> float:
    write = out.size > 0
    total = 0.0
    for i in range(x.size):
        xi, ti = x[i], t[i]
        if log_target:
            v = math.exp(ti) * (ti - xi)
            zero = ti == -np.inf
        else:
            v = ti * ((math.log(ti) if ti > 0 else nil) - xi)
            zero = ti == 0
        if zero_rule and zero and xi == xi:
            v = nil
        if write:
            out[i] = v
        total += v
    return total


@implementation("kl_divergence", "numba", "fused")
def kl_divergence(input: Any, target: Any, opts: KlOptions) -> Any:
    """One pass: the term of each element, written or summed in float64."""
    dtype = check(input, target, opts)
    x, t = np.ravel(input), np.ravel(target)
    zero_rule = opts.zero_target == "zero"
    if opts.reduction == "none":
        out = np.empty(x.size, dtype)
        _fused(x, t, opts.log_target, zero_rule, dtype.type(0), out)
        return out.reshape(input.shape)
    total = _fused(x, t, opts.log_target, zero_rule, dtype.type(0), np.empty(0, dtype))
    if opts.reduction == "sum":
        return np.asarray(total, dtype)
    count = x.size if opts.reduction == "mean" else input.shape[0]
    return np.asarray(total / count if count else np.nan, dtype)
