"""torch.nn.functional's losses, as a practitioner calls them.

form='index': F.cross_entropy (logits) or F.nll_loss(log(p).clamp_min(-100)) (probabilities);
form='probability': F.cross_entropy with probability targets, or the written-out
-(w·q·log p).sum(1) torch has no function for; form='sigmoid':
F.binary_cross_entropy_with_logits or F.binary_cross_entropy. The (C,) weights are reshaped
to (C, 1, ...) for the BCE functions, which broadcast them along the last axis otherwise.
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F

from harness import implementation
from suites.cross_entropy_softmax_sigmoid import LOG_FLOOR, CrossEntropyOptions, check


def _along_classes(v: Any, ndim: int) -> Any:
    return None if v is None else v.reshape((-1,) + (1,) * (ndim - 2))


@implementation("cross_entropy_softmax_sigmoid", "library", "torch", arrays="torch_cpu")
def cross_entropy(pred: Any, target: Any, weight: Any, pos_weight: Any,
                  opts: CrossEntropyOptions) -> Any:  # fmt: skip
    """F.cross_entropy / nll_loss / binary_cross_entropy(_with_logits), reduction passed on."""
    check(pred, target, weight, pos_weight, opts)
    r = opts.reduction
    if opts.form == "index":
        if opts.input == "logits":
            return F.cross_entropy(
                pred, target, weight, ignore_index=opts.ignore_index, reduction=r
            )
        log_p = pred.log().clamp_min(LOG_FLOOR)
        return F.nll_loss(log_p, target, weight, ignore_index=opts.ignore_index, reduction=r)
    if opts.form == "probability":
        if opts.input == "logits":
            return F.cross_entropy(pred, target, weight, reduction=r)
        w = 1.0 if weight is None else _along_classes(weight, pred.ndim)
        loss = -(w * target * pred.log().clamp_min(LOG_FLOOR)).sum(1)
        return loss if r == "none" else loss.sum() if r == "sum" else loss.mean()
    w = _along_classes(weight, pred.ndim)
    if opts.input == "logits":
        pw = _along_classes(pos_weight, pred.ndim)
        return F.binary_cross_entropy_with_logits(pred, target, w, reduction=r, pos_weight=pw)
    return F.binary_cross_entropy(pred, target, w, reduction=r)
