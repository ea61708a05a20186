"""scipy.stats.mannwhitneyu(positives, negatives).statistic / (n_pos·n_neg): the U of the
positives from average ranks (ties count ½), per curve of the average (adapter: the curves
and their mean as the suite defines them)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import mannwhitneyu

from harness import implementation
from suites.roc_auc import AucOptions, check, combine, curves


def _auc(s: np.ndarray, y: np.ndarray) -> tuple[float, int]:
    pos, neg = s[y == 1], s[y != 1]
    u = mannwhitneyu(pos, neg, alternative="two-sided", method="asymptotic").statistic
    return float(u) / (pos.size * neg.size), int(pos.size)


@implementation("roc_auc", "library", "scipy_mannwhitneyu", arrays="numpy", requires=("scipy",))
def roc_auc(scores: Any, labels: Any, opts: AucOptions) -> Any:
    """mannwhitneyu's U1 / (n_pos·n_neg) per curve."""
    dtype = check(scores, labels, opts)
    found = [_auc(s, y) for s, y in curves(scores, labels, opts)]
    out = combine([a for a, _ in found], [p for _, p in found], opts, scores.ndim)
    return out.astype(dtype)
