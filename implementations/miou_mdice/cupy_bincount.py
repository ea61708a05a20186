"""miou_mdice in CuPy: one cp.bincount over (image,) target, pred bins (atomics on the GPU),
ignored pixels sent to a discard bin; the C² counts go to the host once."""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.miou_mdice import MiouOptions, check, finish


@implementation("miou_mdice", "cupy", "bincount")
def miou_mdice(pred: Any, target: Any, class_weights: Any, opts: MiouOptions) -> Any:
    """bincount of (image·C + t)·C + p; the ratios from the int64 counts on the host."""
    dtype = check(pred, target, class_weights, opts)
    c = class_weights.shape[0]
    n = pred.shape[0]
    per_image = opts.accumulate == "per_image"
    bins = target * c + pred
    if per_image:
        bins += (cp.arange(n) * (c * c)).reshape(n, 1, 1)
    total = (n if per_image else 1) * c * c
    if opts.ignore_index is not None:
        bins = cp.where(target == opts.ignore_index, total, bins)
    counts = cp.bincount(bins.ravel(), minlength=total + 1)[:total]
    cms = cp.asnumpy(counts).reshape((n, c, c) if per_image else (c, c))
    iou, dice = finish(cms, cp.asnumpy(class_weights), opts)
    return cp.asarray(iou, dtype=dtype), cp.asarray(dice, dtype=dtype)
