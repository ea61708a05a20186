"""Channel dropout in torch (CPU or CUDA): the (N, C) mask viewed as (N, C, 1, ...)
broadcasts over the spatial axes; torch.mul (product) or torch.where (select) into a fresh
tensor, then mul_(s)."""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.dropout import CHANNEL_ARGS, DropoutOptions, channel_mask, dropout_scale


@implementation("dropout.channel", ("torch_cpu", "torch_cuda"), "broadcast")
def dropout(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    """torch.mul(x, mask[:, :, None, ...]) or torch.where(...), then mul_(s)."""
    CHANNEL_ARGS.check(x, mask, p)
    s = dropout_scale(float(p), opts)
    if not opts.training:
        return torch.mul(x, s) if s != 1 else x.clone()
    keep = channel_mask(mask, x.ndim)
    if opts.nan_dropped == "product":
        return torch.mul(x, keep).mul_(s)
    return torch.where(keep, x, 0.0).mul_(s)
