"""precision_recall_f1_ap in pure Python: one counting loop, then the (score, label) pairs
sorted from the top and walked once, an AP step at the end of each tied group.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.precision_recall_f1_ap import PrfOptions, check, combine, curves


def _curve(s: list[float], y: list[int], t: float) -> tuple[int, int, int, float]:
    tp = fp = n_pos = 0
    for v, c in zip(s, y, strict=True):
        n_pos += c
        if v >= t:
            tp += c
            fp += 1 - c
    if n_pos == 0:
        return tp, fp, 0, 0.0
    pairs = sorted(zip(s, y, strict=True), reverse=True)
    ap, hits, i = 0.0, 0, 0
    while i < len(pairs):
        v, gp = pairs[i][0], 0
        while i < len(pairs) and pairs[i][0] == v:
            gp += pairs[i][1]
            i += 1
        hits += gp
        ap += gp * hits / i
    return tp, fp, n_pos - tp, ap / n_pos


@implementation("precision_recall_f1_ap", "python", "loops", max_flops=1e5)  # ~5e3 scores
def precision_recall_f1_ap(scores: Any, labels: Any, threshold: Any, beta: Any,
                           opts: PrfOptions) -> Any:  # fmt: skip
    """A counting loop and a sorted walk per curve."""
    dtype = check(scores, labels, threshold, beta, opts)
    s_all, y_all = np.asarray(scores), np.asarray(labels)  # lists here: sliced as arrays
    t = float(np.asarray(threshold, dtype=s_all.dtype))  # compared in the scores' dtype
    rows = [_curve(s.tolist(), y.tolist(), t) for s, y in curves(s_all, y_all, opts)]
    return tuple(v.astype(dtype) for v in combine(rows, float(beta), opts))
