"""torch.nn.functional.smooth_l1_loss(beta=) / huber_loss(delta=), as a practitioner calls
them; per_positive is the detection idiom: the loss of pred[positive] summed, divided by
max(1, the number of positive rows).
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F

from harness import implementation
from suites.smooth_l1_huber import SmoothL1Options, check


@implementation("smooth_l1_huber", "library", "torch", arrays="torch_cpu")
def smooth_l1_huber(pred: Any, target: Any, positive: Any, beta: Any,
                    opts: SmoothL1Options) -> Any:  # fmt: skip
    """F.smooth_l1_loss(pred, target, beta=β) or F.huber_loss(pred, target, delta=β)."""
    check(pred, target, positive, beta, opts)
    b = float(beta)
    if opts.reduction == "per_positive":
        p, t = pred[positive], target[positive]
        if opts.loss == "huber":
            return F.huber_loss(p, t, reduction="sum", delta=b) / max(1, p.shape[0])
        return F.smooth_l1_loss(p, t, reduction="sum", beta=b) / max(1, p.shape[0])
    if opts.loss == "huber":
        return F.huber_loss(pred, target, reduction=opts.reduction, delta=b)
    return F.smooth_l1_loss(pred, target, reduction=opts.reduction, beta=b)
