"""dropout with Numba: one fused pass, x and the mask read once, y written once.

The factor per value is a select between s and 0 (no branch in the loop body), so each
loop vectorises; the product rule multiplies by it, the select rule picks x·s or 0.
Serial: the benchmark pins one thread, and a prange loop costs ~3.5 s more compilation
per dtype here for a pass that is bound by memory bandwidth anyway.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.dropout import ARGS, DropoutOptions, dropout_scale


@numba.njit(cache=False, error_model="numpy")
def _kernel(x: Any, keep: Any, s: Any, rule: int, out: Any) -> None:
    zero = s - s  # a zero of the working dtype: a 0.0 literal would promote float32
    if rule == 0:  # product: a dropped NaN or inf gives NaN
        for i in range(x.size):
            out[i] = x[i] * (s if keep[i] else zero)
    elif rule == 1:  # select: a dropped value is 0 whatever it was
        for i in range(x.size):
            v = x[i] * s  # computed for every value: the select then vectorises
            out[i] = v if keep[i] else zero
    else:  # eval: the mask is ignored
        for i in range(x.size):
            out[i] = x[i] * s


@implementation("dropout", "numba", "fused")
def dropout(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    """One loop over the flattened values per rule; the rule is chosen outside the loops."""
    dtype = ARGS.check(x, mask, p)
    s = dtype.type(dropout_scale(float(p), opts))
    xs = np.ascontiguousarray(x, dtype=dtype).reshape(-1)
    out = np.empty(x.shape, dtype=dtype)
    rule = 2 if not opts.training else 0 if opts.nan_dropped == "product" else 1
    _kernel(xs, np.ascontiguousarray(mask).reshape(-1), s, rule, out.reshape(-1))
    return out
