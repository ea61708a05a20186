"""label_smoothing_ce in torch ops (CPU or CUDA): logsumexp over the class axis, one gather of
the target's logit and one tensordot for Σ_c w_c·z_c; the smoothed targets are never built
(-log p_c = lse - z_c).
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.label_smoothing_ce import SmoothingOptions, check


@implementation("label_smoothing_ce", ("torch_cpu", "torch_cuda"), "gemv")
def label_smoothing_ce(logits: Any, target: Any, weight: Any, smoothing: Any,
                       opts: SmoothingOptions) -> Any:  # fmt: skip
    """logsumexp, gather and tensordot; (1 - ε)·w_t·nll + a·(W·lse - Σ w·z)."""
    check(logits, target, weight, smoothing, opts)
    c, eps = logits.shape[1], float(smoothing)
    w = torch.ones(c, dtype=logits.dtype, device=logits.device) if weight is None else weight
    kept = target != opts.ignore_index
    safe = torch.where(kept, target, 0)
    lse = torch.logsumexp(logits, dim=1)
    nll = lse - logits.gather(1, safe.unsqueeze(1)).squeeze(1)
    wt = w[safe].masked_fill_(~kept, 0.0)
    spread = lse.mul(w.sum()).sub_(torch.tensordot(logits, w, dims=([1], [0])))
    if opts.distribution == "uniform":
        loss = spread.mul_(eps / c).add_(nll.mul_(wt), alpha=1 - eps)
    else:
        wnll = nll.mul_(wt)
        loss = spread.sub_(wnll).mul_(eps / (c - 1)).add_(wnll, alpha=1 - eps)
    loss = torch.where(kept, loss, 0.0)
    if opts.reduction == "none":
        return loss
    if opts.reduction == "sum":
        return loss.sum()
    return loss.sum() / wt.sum()
