"""miou_mdice in torch ops (CPU or CUDA): one torch.bincount over (image,) target, pred bins,
ignored pixels sent to a discard bin (no compaction); the C² counts go to the host once."""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.miou_mdice import MiouOptions, check, finish


@implementation("miou_mdice", ("torch_cpu", "torch_cuda"), "bincount")
def miou_mdice(pred: Any, target: Any, class_weights: Any, opts: MiouOptions) -> Any:
    """bincount of (image·C + t)·C + p; the ratios from the int64 counts on the host."""
    check(pred, target, class_weights, opts)
    c = class_weights.shape[0]
    n = pred.shape[0]
    per_image = opts.accumulate == "per_image"
    bins = target * c + pred
    if per_image:
        bins += (torch.arange(n, device=pred.device) * (c * c)).reshape(n, 1, 1)
    total = (n if per_image else 1) * c * c
    if opts.ignore_index is not None:
        bins = bins.masked_fill(target == opts.ignore_index, total)
    counts = torch.bincount(bins.reshape(-1), minlength=total + 1)[:total]
    cms = counts.cpu().numpy().reshape((n, c, c) if per_image else (c, c))
    iou, dice = finish(cms, class_weights.cpu().numpy(), opts)
    dtype, device = class_weights.dtype, class_weights.device
    return torch.as_tensor(iou, dtype=dtype, device=device), torch.as_tensor(
        dice, dtype=dtype, device=device
    )
