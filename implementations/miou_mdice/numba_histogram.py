"""miou_mdice with Numba: one pass over the pixels incrementing an int64 (C, C) histogram
per image (the counts stay in L1 for the usual C), ignored pixels skipped by one compare."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.miou_mdice import MiouOptions, check, finish


@numba.njit(cache=False)
def _histograms(p: Any, t: Any, c: int, ignore: int, out: Any) -> None:
    n, pixels = p.shape
    for i in range(n):
        for j in range(pixels):
            tv = t[i, j]
            if tv != ignore:
                out[i, tv, p[i, j]] += 1


@implementation("miou_mdice", "numba", "histogram")
def miou_mdice(pred: Any, target: Any, class_weights: Any, opts: MiouOptions) -> Any:
    """One pixel pass into per-image int64 histograms; the ratios from C² numbers."""
    dtype = check(pred, target, class_weights, opts)
    c = class_weights.shape[0]
    n = pred.shape[0]
    pixels = pred.shape[1] * pred.shape[2]
    p = np.ascontiguousarray(pred.reshape(n, pixels), dtype=np.int64)
    t = np.ascontiguousarray(target.reshape(n, pixels), dtype=np.int64)
    cms = np.zeros((n, c, c), dtype=np.int64)
    ignore = -1 if opts.ignore_index is None else opts.ignore_index
    if p.size:
        _histograms(p, t, c, ignore, cms)
    whole = cms.sum(axis=0) if opts.accumulate == "dataset" else cms
    iou, dice = finish(whole, class_weights, opts)
    return iou.astype(dtype), dice.astype(dtype)
