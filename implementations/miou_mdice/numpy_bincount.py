"""miou_mdice in NumPy: one bincount of t·C + p per block of pixels (ignored pixels sent to
an extra bin instead of compacting the arrays), int64 counts accumulated over blocks."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.miou_mdice import MiouOptions, check, finish

_BLOCK = 1 << 18  # pixels per block: the int64 bin temporaries stay in L2


def _counts(p: Any, t: Any, c: int, ignore: int | None) -> Any:
    bins = t * c
    bins += p
    if ignore is not None:
        bins[t == ignore] = c * c  # the discard bin
    return np.bincount(bins, minlength=c * c + 1)[: c * c]


@implementation("miou_mdice", "numpy", "bincount")
def miou_mdice(pred: Any, target: Any, class_weights: Any, opts: MiouOptions) -> Any:
    """Blocked bincount into int64 counts; the ratios from C² numbers."""
    dtype = check(pred, target, class_weights, opts)
    c = class_weights.shape[0]
    n = pred.shape[0]
    pixels = pred.shape[1] * pred.shape[2]
    p, t = pred.reshape(n, pixels), target.reshape(n, pixels)
    cms = np.zeros((n, c * c), dtype=np.int64)
    for i in range(n):
        for j0 in range(0, p.shape[1], _BLOCK):
            cms[i] += _counts(p[i, j0 : j0 + _BLOCK], t[i, j0 : j0 + _BLOCK], c, opts.ignore_index)
    cms = cms.reshape(n, c, c)
    whole = cms.sum(axis=0) if opts.accumulate == "dataset" else cms
    iou, dice = finish(whole, class_weights, opts)
    return iou.astype(dtype), dice.astype(dtype)
