"""dropout in NumPy: one output buffer, every step written into it in place.

y = x·mask (a bool array multiplies as 0/1, no float temporary), then y *= s. That is the
product rule; the select rule differs only where a dropped value was NaN or inf (now NaN),
so one isnan pass finds those rare places and zeroes them (far cheaper than a where).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.dropout import ARGS, DropoutOptions, dropout_scale


@implementation("dropout", "numpy", "inplace")
def dropout(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    """np.multiply(x, mask) into a fresh buffer, then the scale in place: no temporaries."""
    dtype = ARGS.check(x, mask, p)
    s = dtype.type(dropout_scale(float(p), opts))  # the scale rounded once, to x's dtype
    if not opts.training:
        return np.multiply(x, s, dtype=dtype) if s != 1 else x.astype(dtype, copy=True)
    with np.errstate(invalid="ignore"):  # inf·0 = NaN is the product rule
        y = np.multiply(x, mask, dtype=dtype)
    y *= s
    if opts.nan_dropped == "select":
        nan = np.isnan(y)
        if nan.any():
            y[nan & ~mask] = 0  # a dropped NaN or inf; a kept NaN stays
    return y
