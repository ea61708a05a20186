"""focal_loss in torch ops (CPU or CUDA): torch's fused BCE-with-logits and sigmoid kernels,
then every further step in place on those two buffers (q = p + y - 2py, q**γ, α_t).

Probability mode clamps each log's argument at eps, in place on one buffer.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.focal_loss import FocalOptions, check


def _softmax_terms(x: Any, y: Any, alpha: float, gamma: float, opts: FocalOptions) -> Any:
    """-α·y·(1 - p)^γ·log p with torch.log_softmax (or clipped logs of probabilities)."""
    if opts.input == "logits":
        log_p = torch.log_softmax(x, dim=1)
        q = torch.exp(log_p).neg_().add_(1.0)
    else:
        log_p = torch.clamp_min(x, opts.clip_eps).log_()
        q = torch.rsub(x, 1.0)
    if gamma == 2.0:
        q.square_()
    elif gamma != 1.0:
        q.pow_(gamma)
    loss = log_p.neg_().mul_(y).mul_(q)
    return loss.mul_(alpha) if alpha >= 0 else loss


def _elementwise(x: Any, y: Any, alpha: float, gamma: float, opts: FocalOptions) -> Any:
    if opts.form == "softmax":
        return _softmax_terms(x, y, alpha, gamma, opts)
    if opts.input == "logits":
        ce = F.binary_cross_entropy_with_logits(x, y, reduction="none")
        p = torch.sigmoid(x)
    else:
        eps = opts.clip_eps
        ce = torch.clamp_min(x, eps).log_().mul_(y)
        other = torch.rsub(x, 1.0).clamp_min_(eps).log_().mul_(torch.rsub(y, 1.0))
        ce.add_(other).neg_()
        p = x.clone()
    # q = 1 - p_t = p + y - 2py, in place on p
    q = p.mul_(torch.mul(y, -2.0).add_(1.0)).add_(y)
    if gamma == 2.0:
        q.square_()
    elif gamma != 1.0:
        q.pow_(gamma)
    ce.mul_(q)
    if alpha >= 0:
        ce.mul_(torch.mul(y, 2.0 * alpha - 1.0).add_(1.0 - alpha))
    return ce


@implementation("focal_loss", ("torch_cpu", "torch_cuda"), "inplace")
def focal_loss(inputs: Any, targets: Any, alpha: float, gamma: float, opts: FocalOptions) -> Any:
    """Fused BCE-with-logits and sigmoid, the rest in place; torch's sum for reductions."""
    check(inputs, targets, alpha, gamma, opts)
    loss = _elementwise(inputs, targets, float(alpha), float(gamma), opts)
    if opts.reduction == "none":
        return loss
    n = loss.shape[0]
    total = loss.sum()
    if opts.reduction == "sum":
        return total
    if opts.reduction == "mean":
        return total / loss.numel() if loss.numel() else total * float("nan")
    if opts.reduction == "per_sample_mean":
        return total / n if n else total * float("nan")
    positives = (targets > 0).any(dim=1).sum() if targets.numel() else torch.tensor(0)
    return total / positives.clamp_min(1).to(total.device)
