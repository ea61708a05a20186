"""classification_accuracy in NumPy: blocks of rows; top-1 by argmax (the reversed view for
the higher-index tie order), top-k by counting, per row, the scores above the label's and
the equal ones earlier in the tie order (no sort); multi-label by one comparison per block.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.classification_accuracy import AccuracyOptions, check

BLOCK = 1 << 16  # scores per block: the block and its boolean temporaries stay in L2


@implementation("classification_accuracy", "numpy", "blocked")
def classification_accuracy(scores: Any, target: Any, k: Any, opts: AccuracyOptions) -> Any:
    """Integer counts over row blocks, one float64 division at the end."""
    n, c = check(scores, target, k, opts)
    rows = max(1, BLOCK // c)
    cols = np.arange(c)
    half = scores.dtype.type(0.5)
    count = 0
    for i in range(0, n, rows):
        s, t = scores[i : i + rows], target[i : i + rows]
        if opts.task == "top_k":
            if k >= c:
                count += len(s)
            elif k == 1 and opts.tie_break == "lower_index":
                count += int((np.argmax(s, axis=1) == t).sum())
            elif k == 1:
                count += int((c - 1 - np.argmax(s[:, ::-1], axis=1) == t).sum())
            else:
                sy = np.take_along_axis(s, t[:, None], axis=1)
                before = cols < t[:, None] if opts.tie_break == "lower_index" else cols > t[:, None]
                rank = np.count_nonzero(s > sy, axis=1)
                rank += np.count_nonzero((s == sy) & before, axis=1)
                count += int((rank < k).sum())
        else:
            pred = s >= half if opts.threshold == "ge" else s > half
            wrong = pred != t.astype(bool)
            if opts.task == "hamming":
                count += wrong.size - int(np.count_nonzero(wrong))
            else:
                count += len(s) - int(np.count_nonzero(wrong.any(axis=1)))
    return np.asarray(count / (n * c if opts.task == "hamming" else n))
