"""precision_recall_f1_ap in NumPy: the counts at the threshold from three count_nonzero
passes; AP from one sort per curve: float32 scores and labels packed into one int64 key
(order-preserving score bits, the label as the low bit) sorted by value (SIMD np.sort, no
argsort, no gather), float64 through argsort; then the step sum over the tied groups, or the
interpolated APs from the groups' reversed running max of precision. Ties taken one by one:
a stable argsort of the negated scores instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.precision_recall_f1_ap import (
    RECALL_11,
    RECALL_101,
    PrfOptions,
    check,
    combine,
    curves,
)


def _descending(s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a value that changes exactly between distinct scores, the labels), highest first."""
    if s.dtype == np.float32:
        bits = (s + np.float32(0)).view(np.int32).astype(np.int64)  # -0.0 + 0 = +0.0
        bits ^= (bits >> 31) & 0x7FFFFFFF  # negative floats: reverse their order
        key = np.sort((bits << 1) | y)[::-1]
        return key >> 1, key & 1
    order = np.argsort(s)[::-1]
    return s[order], y[order]


def _interpolated(tps: np.ndarray, seen: np.ndarray, n_pos: int, interp: str) -> float:
    """The envelope of the grouped precisions (a reversed running max), then its area or
    its values at the first recall >= each grid point (searchsorted), 0 past the end."""
    rec = tps / float(n_pos)
    env = np.maximum.accumulate((tps / seen)[::-1])[::-1]
    if interp == "all_point":
        return float((np.diff(tps, prepend=0) * env).sum()) / n_pos
    grid = RECALL_11 if interp == "voc11" else RECALL_101
    at = np.searchsorted(rec, grid, side="left")
    inside = at < env.size
    return float(env[at[inside]].sum()) / grid.size


def _curve(
    s: np.ndarray, y: np.ndarray, t: float, interp: str, ties: str
) -> tuple[int, int, int, float]:
    y = y.astype(np.int64, copy=False)
    pred = s >= s.dtype.type(t) if s.dtype == np.float32 else s >= t
    n_pos = int(np.count_nonzero(y))
    tp = int(np.count_nonzero(pred & (y == 1)))
    fp = int(np.count_nonzero(pred)) - tp
    if n_pos == 0:
        return tp, fp, 0, 0.0
    if ties == "sequential":  # every score its own threshold, ties in input order
        ranked = y[np.argsort(-s, kind="stable")]
        hits = np.cumsum(ranked)
        seen = np.arange(1.0, s.size + 1.0)
        if interp != "step":
            return tp, fp, n_pos - tp, _interpolated(hits, seen, n_pos, interp)
        return tp, fp, n_pos - tp, float((ranked * (hits / seen)).sum()) / n_pos
    value, lab = _descending(s, y)
    idx = np.append(np.flatnonzero(value[1:] != value[:-1]), lab.size - 1)
    tps = np.cumsum(lab)[idx]
    if interp != "step":
        return tp, fp, n_pos - tp, _interpolated(tps, idx + 1.0, n_pos, interp)
    ap = float((np.diff(tps, prepend=0) * (tps / (idx + 1.0))).sum()) / n_pos
    return tp, fp, n_pos - tp, ap


@implementation("precision_recall_f1_ap", "numpy", "keysort")
def precision_recall_f1_ap(scores: Any, labels: Any, threshold: Any, beta: Any,
                           opts: PrfOptions) -> Any:  # fmt: skip
    """Counts by count_nonzero, AP by one packed sort per curve."""
    dtype = check(scores, labels, threshold, beta, opts)
    t, interp = float(threshold), opts.ap_interp
    rows = [_curve(s, y, t, interp, opts.ties) for s, y in curves(scores, labels, opts)]
    return tuple(v.astype(dtype) for v in combine(rows, float(beta), opts))
