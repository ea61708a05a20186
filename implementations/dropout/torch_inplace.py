"""dropout in torch (CPU or CUDA): torch.mul into a fresh tensor, then the mask in place.

Product: torch.mul(x, mask) (a bool tensor multiplies as 0/1), then mul_(s); select:
torch.where(mask, x, 0), then mul_(s). Two passes, no temporary beyond y.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.dropout import ARGS, DropoutOptions, dropout_scale


@implementation("dropout", ("torch_cpu", "torch_cuda"), "inplace")
def dropout(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    """torch.mul(x, mask) or torch.where(mask, x, 0), then mul_(s); eval: a copy or x·s."""
    ARGS.check(x, mask, p)
    s = dropout_scale(float(p), opts)
    if not opts.training:
        return torch.mul(x, s) if s != 1 else x.clone()
    if opts.nan_dropped == "product":
        return torch.mul(x, mask).mul_(s)
    return torch.where(mask, x, 0.0).mul_(s)
