"""roc_auc in CuPy: argsort of the scores on the device, labels gathered in that order,
group ends where the sorted score changes, cumulative negative counts (int64) at the group
ends and the integer trapezoid over the groups.
"""

from __future__ import annotations

from typing import Any

import cupy as cp
import numpy as np

from harness import implementation
from suites.roc_auc import AucOptions, check, combine, curves


def _auc(s: Any, y: Any) -> tuple[float, int]:
    order = cp.argsort(s)
    value = s[order]
    neg = 1 - y[order].astype(cp.int64)
    n = neg.size
    ends = cp.flatnonzero(value[1:] != value[:-1])
    idx = cp.concatenate((ends, cp.asarray([n - 1])))
    neg_upto = cp.cumsum(neg)[idx]
    pos_upto = idx + 1 - neg_upto
    pos_g = cp.diff(pos_upto, prepend=0)
    neg_prev = cp.concatenate((cp.zeros(1, cp.int64), neg_upto[:-1]))
    twice = int((pos_g * (neg_prev + neg_upto)).sum())
    n_pos = int(pos_upto[-1])
    return twice / (2.0 * n_pos * (n - n_pos)), n_pos


@implementation("roc_auc", "cupy", "sort")
def roc_auc(scores: Any, labels: Any, opts: AucOptions) -> Any:
    """cp.argsort per curve, integer trapezoids on the device."""
    dtype = check(scores, labels, opts)
    found = [_auc(s, y) for s, y in curves(scores, labels, opts)]
    out = combine([a for a, _ in found], [p for _, p in found], opts, scores.ndim)
    return cp.asarray(np.array(out), dtype=dtype)
