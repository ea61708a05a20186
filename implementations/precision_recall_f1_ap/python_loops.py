"""precision_recall_f1_ap in pure Python: one counting loop, then the (score, label) pairs
sorted from the top and walked once, an AP step at the end of each tied group (the
interpolated APs: the groups' envelope walked back, then its area or grid values; ties
taken one by one: a stable sort on the negated scores, every score a step).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.precision_recall_f1_ap import RECALL_11, RECALL_101, PrfOptions, check, combine, curves


def _interpolated(tps: list[int], seen: list[int], n_pos: int, interp: str) -> float:
    """Envelope walked from the bottom, then its area or its grid means."""
    env = [0.0] * len(tps)
    best = 0.0
    for i in range(len(tps) - 1, -1, -1):
        best = max(best, tps[i] / seen[i])
        env[i] = best
    if interp == "all_point":
        area, before = 0.0, 0
        for hits, e in zip(tps, env, strict=True):
            area += (hits - before) * e
            before = hits
        return area / n_pos
    grid = RECALL_11 if interp == "voc11" else RECALL_101
    total, i = 0.0, 0
    for r in grid.tolist():  # ascending: the first recall >= r only moves forward
        while i < len(tps) and tps[i] / n_pos < r:
            i += 1
        total += env[i] if i < len(tps) else 0.0
    return total / len(grid)


def _sequential(s: list[float], y: list[int], n_pos: int, interp: str) -> float:
    """Every score its own threshold, in a stable sort on the negated scores."""
    hits, ap = 0, 0.0
    tps: list[int] = []
    seen: list[int] = []
    for i, j in enumerate(sorted(range(len(s)), key=lambda k: -s[k])):
        hits += y[j]
        tps.append(hits)
        seen.append(i + 1)
        ap += y[j] * hits / (i + 1)
    return _interpolated(tps, seen, n_pos, interp) if interp != "step" else ap / n_pos


def _curve(
    s: list[float], y: list[int], t: float, interp: str, ties: str
) -> tuple[int, int, int, float]:
    tp = fp = n_pos = 0
    for v, c in zip(s, y, strict=True):
        n_pos += c
        if v >= t:
            tp += c
            fp += 1 - c
    if n_pos == 0:
        return tp, fp, 0, 0.0
    if ties == "sequential":  # a stable sort on the negated score: input order in ties
        return tp, fp, n_pos - tp, _sequential(s, y, n_pos, interp)
    pairs = sorted(zip(s, y, strict=True), reverse=True)
    ap, hits, i = 0.0, 0, 0
    tps: list[int] = []
    seen: list[int] = []
    while i < len(pairs):
        v, gp = pairs[i][0], 0
        while i < len(pairs) and pairs[i][0] == v:
            gp += pairs[i][1]
            i += 1
        hits += gp
        ap += gp * hits / i
        tps.append(hits)
        seen.append(i)
    if interp != "step":
        return tp, fp, n_pos - tp, _interpolated(tps, seen, n_pos, interp)
    return tp, fp, n_pos - tp, ap / n_pos


@implementation(
    "precision_recall_f1_ap", "python", "loops", max_flops=1e5,  # ~5e3 scores
    expected_failures={"no_rows_macro": "a (0, L) array arrives as the list [], its L lost "
                       "(check() then sees 1-D scores)"},
)  # fmt: skip
def precision_recall_f1_ap(scores: Any, labels: Any, threshold: Any, beta: Any,
                           opts: PrfOptions) -> Any:  # fmt: skip
    """A counting loop and a sorted walk per curve."""
    dtype = check(scores, labels, threshold, beta, opts)
    s_all, y_all = np.asarray(scores), np.asarray(labels)  # lists here: sliced as arrays
    t = float(np.asarray(threshold, dtype=s_all.dtype))  # compared in the scores' dtype
    interp = opts.ap_interp
    rows = [
        _curve(s.tolist(), y.tolist(), t, interp, opts.ties) for s, y in curves(s_all, y_all, opts)
    ]
    return tuple(v.astype(dtype) for v in combine(rows, float(beta), opts))
