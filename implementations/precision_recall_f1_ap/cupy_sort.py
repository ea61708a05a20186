"""precision_recall_f1_ap in CuPy: the counts at the threshold by reductions of boolean
masks; AP from a device argsort (descending), labels gathered, group ends where the sorted
score changes, cumulative true positives there and the step sum.
"""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.precision_recall_f1_ap import PrfOptions, check, combine, curves


def _curve(s: Any, y: Any, t: float) -> tuple[int, int, int, float]:
    pos = y == 1
    pred = s >= t
    n_pos = int(pos.sum())
    tp = int((pred & pos).sum())
    fp = int(pred.sum()) - tp
    if n_pos == 0:
        return tp, fp, 0, 0.0
    order = cp.argsort(s)[::-1]
    value = s[order]
    lab = pos[order].astype(cp.int64)
    idx = cp.concatenate((cp.flatnonzero(value[1:] != value[:-1]), cp.asarray([lab.size - 1])))
    tps = cp.cumsum(lab)[idx]
    ap = float((cp.diff(tps, prepend=0) * (tps / (idx + 1.0))).sum()) / n_pos
    return tp, fp, n_pos - tp, ap


@implementation("precision_recall_f1_ap", "cupy", "sort",
                supports={"ap_interp": ("step",), "ties": ("grouped",)})  # fmt: skip
def precision_recall_f1_ap(scores: Any, labels: Any, threshold: Any, beta: Any,
                           opts: PrfOptions) -> Any:  # fmt: skip
    """Mask reductions for the counts, a device argsort for AP, per curve."""
    dtype = check(scores, labels, threshold, beta, opts)
    rows = [_curve(s, y, float(threshold)) for s, y in curves(scores, labels, opts)]
    return tuple(cp.asarray(v, dtype=dtype) for v in combine(rows, float(beta), opts))
