"""roc_auc in NumPy: float32 scores and their labels packed into one int64 key (the
score's order-preserving integer bits, shifted, with the label as the low bit), sorted by
value with np.sort (SIMD, no argsort, no gather); float64 scores through argsort. Then the
trapezoid over the tied groups from cumulative negative counts, in exact integers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.roc_auc import AucOptions, check, combine, curves


def _sorted_keys(s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ascending: (group id per element that changes only between distinct scores,
    the labels in that order)."""
    if s.dtype == np.float32:
        bits = (s + np.float32(0)).view(np.int32).astype(np.int64)  # -0.0 + 0 = +0.0
        bits ^= (bits >> 31) & 0x7FFFFFFF  # negative floats: reverse their order
        key = np.sort((bits << 1) | y)
        return key >> 1, key & 1
    order = np.argsort(s)
    return s[order], y[order]


def _auc(s: np.ndarray, y: np.ndarray) -> tuple[float, int]:
    value, lab = _sorted_keys(s, y.astype(np.int64, copy=False))
    n = lab.size
    ends = np.flatnonzero(value[1:] != value[:-1])  # last index of each group but the last
    idx = np.append(ends, n - 1)
    neg_upto = np.cumsum(1 - lab)[idx]  # negatives at or below each group
    pos_upto = idx + 1 - neg_upto
    pos_g = np.diff(pos_upto, prepend=0)
    neg_prev = np.concatenate(([0], neg_upto[:-1]))
    twice = int((pos_g * (neg_prev + neg_upto)).sum())  # 2 × pairs won (ties count ½)
    n_pos = int(pos_upto[-1])
    return twice / (2.0 * n_pos * (n - n_pos)), n_pos


@implementation("roc_auc", "numpy", "keysort")
def roc_auc(scores: Any, labels: Any, opts: AucOptions) -> Any:
    """One packed sort per curve (float32), exact integer trapezoids."""
    dtype = check(scores, labels, opts)
    found = [_auc(s, y) for s, y in curves(scores, labels, opts)]
    out = combine([a for a, _ in found], [p for _, p in found], opts, scores.ndim)
    return out.astype(dtype)
