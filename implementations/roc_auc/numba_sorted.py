"""roc_auc with Numba: argsort of the scores, then one pass over the sorted order that
closes each group of tied scores with its trapezoid (integer counts, float64 area).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.roc_auc import AucOptions, check, combine, curves


@numba.njit(cache=False)
def _auc(s: Any, y: Any) -> tuple[float, int]:
    order = np.argsort(s, kind="mergesort")
    n = s.size
    neg = 0  # negatives below the current group
    pos = 0
    twice = 0.0
    i = 0
    while i < n:
        v = s[order[i]]
        gp = 0
        gn = 0
        while i < n and s[order[i]] == v:
            if y[order[i]] == 1:
                gp += 1
            else:
                gn += 1
            i += 1
        twice += gp * (2.0 * neg + gn)  # each positive beats the negatives below, ties ½
        neg += gn
        pos += gp
    return twice / (2.0 * pos * neg), pos


@implementation("roc_auc", "numba", "sorted")
def roc_auc(scores: Any, labels: Any, opts: AucOptions) -> Any:
    """Argsort, one grouped pass per curve."""
    dtype = check(scores, labels, opts)
    found = [_auc(np.ascontiguousarray(s), np.ascontiguousarray(y))
             for s, y in curves(scores, labels, opts)]  # fmt: skip
    out = combine([a for a, _ in found], [p for _, p in found], opts, scores.ndim)
    return out.astype(dtype)
