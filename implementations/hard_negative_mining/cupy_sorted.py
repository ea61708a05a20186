"""hard_negative_mining in CuPy: ce as a fused log-sum-exp over the classes, the positives
masked to -inf, one segmented sort of every image's anchors (descending by negation), and a
cumulative sum read at each image's k; the sums in float64.
"""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.hard_negative_mining import MiningOptions, check


@implementation("hard_negative_mining", "cupy", "sorted")
def hard_negative_mining(logits: Any, labels: Any, ratio: Any, opts: MiningOptions) -> Any:
    """Batched sort along the anchors; k read from a running sum."""
    check(logits, labels, ratio)
    b, a, _ = logits.shape
    if b * a == 0:
        return cp.zeros((), dtype=logits.dtype)
    m = logits.max(axis=2, keepdims=True)
    lse = cp.log(cp.exp(logits - m).sum(axis=2)) + m[..., 0]
    ce = lse - cp.take_along_axis(logits, labels[..., None], axis=2)[..., 0]
    pos = labels > 0
    n_pos = pos.sum(axis=1)
    want = cp.where(n_pos > 0, n_pos * int(ratio), opts.min_negatives)
    k = cp.minimum(want, a - n_pos)
    hardest = -cp.sort(cp.where(pos, cp.inf, -ce).astype(cp.float64), axis=1)  # descending
    run = cp.concatenate([cp.zeros((b, 1)), cp.cumsum(cp.where(cp.isinf(hardest), 0, hardest),
                                                      axis=1)], axis=1)  # fmt: skip
    total = ce[pos].sum(dtype=cp.float64) + cp.take_along_axis(run, k[:, None], axis=1).sum()
    return (total / cp.maximum(n_pos.sum(), 1)).astype(logits.dtype)
