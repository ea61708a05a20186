"""hard_negative_mining in NumPy: the batch's ce at once (max-shifted exp, log of the row
sums), then per image np.partition of the negatives' ce around the k-th largest: O(A)
instead of the double argsort's two sorts, and only the sum of the k largest is needed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.hard_negative_mining import MiningOptions, check, negatives_kept


def _ce(logits: Any, labels: Any) -> Any:
    """logsumexp(logits) - logits[label] per anchor, in the logits' dtype."""
    m = logits.max(axis=2, keepdims=True)
    e = np.exp(logits - m)
    lse = np.log(e.sum(axis=2)) + m[..., 0]
    return lse - np.take_along_axis(logits, labels[..., None], axis=2)[..., 0]


@implementation("hard_negative_mining", "numpy", "partition")
def hard_negative_mining(logits: Any, labels: Any, ratio: Any, opts: MiningOptions) -> Any:
    """Vectorised ce; per image a partition and two sums (float64 accumulation)."""
    check(logits, labels, ratio)
    b, a, _ = logits.shape
    if b * a == 0:
        return np.asarray(0.0, logits.dtype)
    ce = _ce(logits, labels)
    pos = labels > 0
    n_pos = pos.sum(axis=1)
    total = float(ce[pos].sum(dtype=np.float64))
    for i in range(b):
        neg = ce[i][~pos[i]]
        k = negatives_kept(int(n_pos[i]), len(neg), int(ratio), opts)
        if k == len(neg):
            total += float(neg.sum(dtype=np.float64))
        elif k:
            total += float(np.partition(neg, len(neg) - k)[len(neg) - k :].sum(dtype=np.float64))
    return np.asarray(total / max(1, int(n_pos.sum())), logits.dtype)
