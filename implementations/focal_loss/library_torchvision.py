"""torchvision.ops.sigmoid_focal_loss, ported to torch (torchvision has no CPU build that
matches the installed torch); the golden fixtures hold the port to the real library.

The port is torchvision's formula line for line: p = sigmoid(x), ce = BCE-with-logits,
p_t, loss = ce·(1 - p_t)**γ, α_t when α >= 0, then reduction 'none', 'mean' or 'sum'.
The RetinaNet normalisers are the adapter: sum / N, and sum / max(1, positive rows).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.focal_loss import FocalOptions, check


def sigmoid_focal_loss(
    inputs: Any, targets: Any, alpha: float, gamma: float, reduction: str
) -> Any:
    """torchvision.ops.sigmoid_focal_loss (v0.29), same operations in the same order."""
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    if reduction == "mean":
        loss = loss.mean()
    elif reduction == "sum":
        loss = loss.sum()
    return loss


@implementation(
    "focal_loss",
    "library",
    "torchvision_port",
    arrays="torch_cpu",
    supports={"input": ("logits",), "form": ("sigmoid",)},  # sigmoid_focal_loss only
)
def focal_loss(inputs: Any, targets: Any, alpha: float, gamma: float, opts: FocalOptions) -> Any:
    """sigmoid_focal_loss(inputs, targets, alpha, gamma, reduction), normalisers adapted."""
    check(inputs, targets, alpha, gamma, opts)
    native = opts.reduction if opts.reduction in ("none", "mean") else "sum"
    loss = sigmoid_focal_loss(inputs, targets, float(alpha), float(gamma), native)
    if opts.reduction == "per_sample_mean":
        return loss / inputs.shape[0] if inputs.shape[0] else loss * float("nan")
    if opts.reduction == "per_positive":
        positives = int((targets > 0).any(dim=1).sum()) if targets.numel() else 0
        return loss / max(1, positives)
    return loss
