"""Channel dropout with Numba: x as (N·C, spatial) rows, one factor per row (s or 0, or s
in eval) chosen outside the inner loop, which then multiplies (product) or writes zeros
(select: a dropped row is skipped, so its NaNs never reach the output). Serial, like
numba_fused: the pass is bound by memory bandwidth.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.dropout import CHANNEL_ARGS, DropoutOptions, dropout_scale


@numba.njit(cache=False, error_model="numpy")
def _kernel(x: Any, keep: Any, s: Any, rule: int, out: Any) -> None:
    zero = s - s  # a zero of the working dtype: a 0.0 literal would promote float32
    for r in range(x.shape[0]):
        if rule == 1 and not keep[r]:  # select: a dropped channel is 0 whatever it held
            out[r, :] = zero
            continue
        f = s if rule == 2 or keep[r] else zero  # product: x·0 keeps NaN, inf -> NaN
        for j in range(x.shape[1]):
            out[r, j] = x[r, j] * f


@implementation("dropout.channel", "numba", "rows")
def dropout(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    """One row per (sample, channel); the rule is chosen outside the loops."""
    dtype = CHANNEL_ARGS.check(x, mask, p)
    s = dtype.type(dropout_scale(float(p), opts))
    rows, per_row = x.shape[0] * x.shape[1], int(np.prod(x.shape[2:]))  # -1 fails at size 0
    xs = np.ascontiguousarray(x, dtype=dtype).reshape(rows, per_row)
    out = np.empty(x.shape, dtype=dtype)
    rule = 2 if not opts.training else 0 if opts.nan_dropped == "product" else 1
    keep = np.ascontiguousarray(mask).reshape(rows)
    _kernel(xs, keep, s, rule, out.reshape(rows, per_row))
    return out
