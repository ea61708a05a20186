"""cross_entropy_softmax_sigmoid in torch ops (CPU or CUDA): logsumexp over the class axis and
one gather of the target's logit, so the log-softmax is never materialised for index targets;
probability targets use Σ w·q·x and Σ w·q against the log-sum-exp; sigmoid is the stable
softplus form with the in-place ops on one buffer.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.cross_entropy_softmax_sigmoid import LOG_FLOOR, CrossEntropyOptions, check


def _along_classes(v: Any, ndim: int) -> Any:
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _losses(pred: Any, target: Any, w: Any, pw: Any, opts: CrossEntropyOptions) -> tuple[Any, Any]:
    """(losses, the mean's denominator or None for the element count)."""
    if opts.form == "index":
        kept = target != opts.ignore_index
        safe = torch.where(kept, target, 0)
        picked = pred.gather(1, safe.unsqueeze(1)).squeeze(1)
        if opts.input == "probabilities":
            loss = picked.log().clamp_min_(LOG_FLOOR).neg_()
        else:
            loss = torch.logsumexp(pred, dim=1).sub_(picked)
        wt = kept.to(pred.dtype) if w is None else w[safe].masked_fill_(~kept, 0.0)
        return torch.where(kept, loss.mul_(wt), 0.0), wt.sum()
    if opts.form == "probability":
        wq = target if w is None else target * _along_classes(w, target.ndim)
        if opts.input == "probabilities":
            return (pred.log().clamp_min_(LOG_FLOOR) * wq).sum(dim=1).neg_(), None
        lse = torch.logsumexp(pred, dim=1)
        return wq.sum(dim=1).mul_(lse).sub_((wq * pred).sum(dim=1)), None
    if opts.input == "probabilities":
        log_p = pred.log().clamp_min_(LOG_FLOOR)
        log_q = torch.log1p(-pred).clamp_min_(LOG_FLOOR)
        loss = torch.lerp(log_p, log_q, 1 - target).neg_()  # -(y·log p + (1 - y)·log q)
    else:
        sp = pred.abs().neg_().exp_().log1p_().add_(torch.clamp_min(-pred, 0))  # softplus(-x)
        ny = 1 - target
        coef = ny + (target if pw is None else target * _along_classes(pw, target.ndim))
        loss = sp.mul_(coef).addcmul_(ny, pred)
    if w is not None:
        loss.mul_(_along_classes(w, loss.ndim))
    return loss, None


@implementation("cross_entropy_softmax_sigmoid", ("torch_cpu", "torch_cuda"), "gather")
def cross_entropy(pred: Any, target: Any, weight: Any, pos_weight: Any,
                  opts: CrossEntropyOptions) -> Any:  # fmt: skip
    """logsumexp and a gather (index), two class sums (probability), in-place softplus."""
    check(pred, target, weight, pos_weight, opts)
    loss, denominator = _losses(pred, target, weight, pos_weight, opts)
    if opts.reduction == "none":
        return loss
    total = loss.sum()
    if opts.reduction == "sum":
        return total
    return total / (loss.numel() if denominator is None else denominator)
