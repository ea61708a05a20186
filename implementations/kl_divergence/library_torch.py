"""torch.nn.functional.kl_div(input, target, reduction=, log_target=), as a practitioner
calls it; zero_target='zero' (the maths' 0·log(0/q) = 0) is the adapter: the pointwise
terms with the P = 0 ones set to 0, then the reduction.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.kl_divergence import KlOptions, check


@implementation("kl_divergence", "library", "torch", arrays="torch_cpu")
def kl_divergence(input: Any, target: Any, opts: KlOptions) -> Any:
    """F.kl_div; under zero_target='zero' its terms, P = 0 ones zeroed, then reduced."""
    check(input, target, opts)
    if opts.zero_target == "torch":
        with warnings.catch_warnings():  # reduction='mean' is asked for on purpose
            warnings.filterwarnings("ignore", "reduction: 'mean' divides", UserWarning)
            return F.kl_div(input, target, reduction=opts.reduction, log_target=opts.log_target)
    terms = F.kl_div(input, target, reduction="none", log_target=opts.log_target)
    zero = (target == -torch.inf) if opts.log_target else (target == 0)
    terms = terms.masked_fill(zero & ~input.isnan(), 0.0)
    if opts.reduction == "none":
        return terms
    if opts.reduction == "sum":
        return terms.sum()
    return terms.sum() / (terms.numel() if opts.reduction == "mean" else input.shape[0])
