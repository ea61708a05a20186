"""torch's own kernel for applying a given dropout mask: aten native_dropout_backward.

Dropout's backward multiplies the upstream gradient by the saved mask and the scale, so
with x as the "gradient" it is the forward with the suite's injected mask: y = x·mask·s,
compared value for value. It is a product, so only the product NaN rule is available.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.dropout import ARGS, DropoutOptions, dropout_scale


@implementation(
    "dropout",
    "library",
    "torch_mask",
    arrays="torch_cpu",
    requires=("torch",),
    supports={"nan_dropped": ("product",)},  # x·mask·s: a dropped NaN stays NaN
)
def dropout(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    """torch.ops.aten.native_dropout_backward(x, mask, scale); eval is a copy or x·(1 - p)."""
    ARGS.check(x, mask, p)
    s = dropout_scale(float(p), opts)
    if not opts.training:
        return torch.mul(x, s) if s != 1 else x.clone()
    return torch.ops.aten.native_dropout_backward(x, mask, s)
