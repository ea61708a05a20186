"""Channel dropout in NumPy: the (N, C) mask viewed as (N, C, 1, ...) broadcasts over the
spatial axes; one output buffer, the scale applied in place (as numpy_inplace)."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.dropout import CHANNEL_ARGS, DropoutOptions, channel_mask, dropout_scale


@implementation("dropout.channel", "numpy", "broadcast")
def dropout(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    """np.multiply(x, mask[:, :, None, ...]) into a fresh buffer, then the scale in place."""
    dtype = CHANNEL_ARGS.check(x, mask, p)
    s = dtype.type(dropout_scale(float(p), opts))  # the scale rounded once, to x's dtype
    if not opts.training:
        return np.multiply(x, s, dtype=dtype) if s != 1 else x.astype(dtype, copy=True)
    keep = channel_mask(mask, x.ndim)
    with np.errstate(invalid="ignore"):  # inf·0 = NaN is the product rule
        y = np.multiply(x, keep, dtype=dtype)
    y *= s
    if opts.nan_dropped == "select":
        nan = np.isnan(y)
        if nan.any():
            y[nan & ~keep] = 0  # a NaN or inf in a dropped channel; a kept NaN stays
    return y
