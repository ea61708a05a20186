"""precision_recall_f1_ap with Numba: one pass for the counts at the threshold, an argsort,
and one pass over the sorted order closing each group of tied scores with its AP step.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.precision_recall_f1_ap import PrfOptions, check, combine, curves


@numba.njit(cache=False)
def _curve(s: Any, y: Any, t: Any) -> tuple[int, int, int, float]:
    n = s.size
    tp = 0
    fp = 0
    n_pos = 0
    for i in range(n):
        if y[i] == 1:
            n_pos += 1
            if s[i] >= t:
                tp += 1
        elif s[i] >= t:
            fp += 1
    if n_pos == 0:
        return tp, fp, 0, 0.0
    order = np.argsort(-s, kind="mergesort")  # highest first
    ap = 0.0
    seen = 0
    hits = 0
    i = 0
    while i < n:
        v = s[order[i]]
        gp = 0
        while i < n and s[order[i]] == v:
            gp += y[order[i]] == 1
            i += 1
        seen = i
        hits += gp
        ap += gp * (hits / seen)  # ΔR·P with ΔR = gp / n_pos, divided at the end
    return tp, fp, n_pos - tp, ap / n_pos


@implementation("precision_recall_f1_ap", "numba", "sorted",
                supports={"ap_interp": ("step",), "ties": ("grouped",)})  # fmt: skip
def precision_recall_f1_ap(scores: Any, labels: Any, threshold: Any, beta: Any,
                           opts: PrfOptions) -> Any:  # fmt: skip
    """One counting pass and one grouped pass after an argsort, per curve."""
    dtype = check(scores, labels, threshold, beta, opts)
    t = dtype.type(threshold)
    rows = [_curve(np.ascontiguousarray(s), np.ascontiguousarray(y), t)
            for s, y in curves(scores, labels, opts)]  # fmt: skip
    return tuple(v.astype(dtype) for v in combine(rows, float(beta), opts))
