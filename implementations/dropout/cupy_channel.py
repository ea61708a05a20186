"""Channel dropout in CuPy: one fused ElementwiseKernel, the (N, C) mask viewed as
(N, C, 1, ...) and broadcast by the kernel over the spatial axes."""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.dropout import CHANNEL_ARGS, DropoutOptions, channel_mask, dropout_scale

# rule 0: product (x·0 keeps NaN), 1: select, 2: eval (the mask is ignored)
_DROPOUT = cp.ElementwiseKernel(
    "T x, bool keep, T s, int32 rule",
    "T y",
    "y = rule == 2 ? x * s : (rule == 0 ? x * (keep ? s : (T)0) : (keep ? x * s : (T)0));",
    "opshootout_dropout_channel",
)


@implementation("dropout.channel", "cupy", "elementwise")
def dropout(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    """Fused kernel over x with the broadcast mask; the scale rounded once on the host."""
    dtype = CHANNEL_ARGS.check(x, mask, p)
    s = dtype.type(dropout_scale(float(p), opts))
    rule = 2 if not opts.training else 0 if opts.nan_dropped == "product" else 1
    xs = x.astype(dtype, copy=False)
    return _DROPOUT(xs, channel_mask(mask, x.ndim), s, cp.int32(rule))
