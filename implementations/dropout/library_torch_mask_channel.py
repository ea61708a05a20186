"""torch's own kernel for applying a given dropout mask (aten native_dropout_backward), fed
the (N, C) channel mask expanded (a view, no copy) to x's shape: y = x·mask·s, compared
value for value. A product, so only the product NaN rule is available."""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.dropout import CHANNEL_ARGS, DropoutOptions, channel_mask, dropout_scale


@implementation(
    "dropout.channel",
    "library",
    "torch_mask",
    arrays="torch_cpu",
    requires=("torch",),
    supports={"nan_dropped": ("product",)},  # x·mask·s: a NaN in a dropped channel stays NaN
)
def dropout(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    """native_dropout_backward(x, mask[:, :, None, ...].expand_as(x), s); eval: copy or x·s."""
    CHANNEL_ARGS.check(x, mask, p)
    s = dropout_scale(float(p), opts)
    if not opts.training:
        return torch.mul(x, s) if s != 1 else x.clone()
    keep = channel_mask(mask, x.ndim).expand_as(x)
    return torch.ops.aten.native_dropout_backward(x, keep, s)
