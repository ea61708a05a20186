"""dropout in CuPy: one fused ElementwiseKernel per rule, x and mask read once, y written once."""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.dropout import ARGS, DropoutOptions, dropout_scale

# rule 0: product (x·0 keeps NaN), 1: select, 2: eval (the mask is ignored)
_DROPOUT = cp.ElementwiseKernel(
    "T x, bool keep, T s, int32 rule",
    "T y",
    "y = rule == 2 ? x * s : (rule == 0 ? x * (keep ? s : (T)0) : (keep ? x * s : (T)0));",
    "opshootout_dropout",
)


@implementation("dropout", "cupy", "elementwise")
def dropout(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    """Fused kernel; the scale is rounded once to x's dtype on the host."""
    dtype = ARGS.check(x, mask, p)
    s = dtype.type(dropout_scale(float(p), opts))
    rule = 2 if not opts.training else 0 if opts.nan_dropped == "product" else 1
    return _DROPOUT(x.astype(dtype, copy=False), mask, s, cp.int32(rule))
