"""smooth_l1_huber in torch ops (CPU or CUDA): d = pred - target into one buffer, then the
branch-free form with m = min(|d|, β) in place: scale·m² + slope·(|d| - m) (no d² of a huge
d; NaN flows through clamp_max).
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.smooth_l1_huber import SmoothL1Options, check


@implementation("smooth_l1_huber", ("torch_cpu", "torch_cuda"), "clamp")
def smooth_l1_huber(pred: Any, target: Any, positive: Any, beta: Any,
                    opts: SmoothL1Options) -> Any:  # fmt: skip
    """sub, abs_, clamp_max, then square/scale and the linear excess in place."""
    check(pred, target, positive, beta, opts)
    if opts.reduction == "per_positive":
        pred, target = pred[positive], target[positive]
    b, huber = float(beta), opts.loss == "huber"
    a = torch.sub(pred, target).abs_()
    if b == 0.0 and not huber:
        loss = a  # pure L1
    else:
        m = a.clamp_max(b)
        loss = a.sub_(m).mul_(b if huber else 1.0)
        loss.addcmul_(m, m, value=0.5 if huber else 0.5 / b)
    if opts.reduction == "none":
        return loss
    if opts.reduction == "sum":
        return loss.sum()
    if opts.reduction == "per_positive":
        return loss.sum() / max(1, pred.shape[0])
    return loss.mean()
