"""roc_auc in pure Python: every (positive, negative) pair counted, 1 when the positive
scores higher, ½ on a tie; O(n_pos·n_neg), capped at about 2,000 scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.roc_auc import AucOptions, check, combine, curves


def _auc(s: list[float], y: list[int]) -> tuple[float, int]:
    pos = [v for v, c in zip(s, y, strict=True) if c == 1]
    neg = [v for v, c in zip(s, y, strict=True) if c != 1]
    twice = 0
    for a in pos:
        for b in neg:
            twice += 2 if a > b else (1 if a == b else 0)
    return twice / (2.0 * len(pos) * len(neg)), len(pos)


@implementation("roc_auc", "python", "pairs", max_flops=2000 * 15.0)  # n = 2,000: ~0.5 s
def roc_auc(scores: Any, labels: Any, opts: AucOptions) -> Any:
    """All pairs, per curve."""
    dtype = check(scores, labels, opts)
    scores, labels = np.asarray(scores), np.asarray(labels)  # lists here: sliced as arrays
    found = [_auc(s.tolist(), y.tolist()) for s, y in curves(scores, labels, opts)]
    out = combine([a for a, _ in found], [p for _, p in found], opts, scores.ndim)
    return out.astype(dtype)
