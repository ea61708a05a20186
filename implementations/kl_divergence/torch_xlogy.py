"""kl_divergence in torch ops (CPU or CUDA): xlogy(p, p) into one buffer, then
addcmul_(p, input, -1) in place (or exp(t) times t - input for a log target); the P = 0
terms zeroed with one masked fill under zero_target='zero'.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.kl_divergence import KlOptions, check


@implementation("kl_divergence", ("torch_cpu", "torch_cuda"), "xlogy")
def kl_divergence(input: Any, target: Any, opts: KlOptions) -> Any:
    """Two fused in-place passes; torch's own reductions."""
    check(input, target, opts)
    if opts.log_target:
        terms = torch.sub(target, input).mul_(target.exp())
        zero = target == -torch.inf
    else:
        terms = torch.xlogy(target, target).addcmul_(target, input, value=-1.0)
        zero = target == 0
    if opts.zero_target == "zero":
        terms.masked_fill_(zero & ~input.isnan(), 0.0)
    if opts.reduction == "none":
        return terms
    if opts.reduction == "sum":
        return terms.sum()
    if opts.reduction == "mean":
        return terms.mean()
    return terms.sum() / input.shape[0]  # N = 0: 0/0 = NaN, as F.kl_div
