"""classification_accuracy in CuPy: one ReductionKernel per row reads the scores once and
counts those ranked before the label's (top-k) or the wrong predictions (multi-label);
the per-row results are counted on the device.
"""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.classification_accuracy import AccuracyOptions, check

_RANK = cp.ReductionKernel(
    "T s, T sy, int64 col, int64 y, bool lower", "int64 rank",
    "(s > sy || (s == sy && (lower ? col < y : col > y))) ? 1 : 0",
    "a + b", "rank = a", "0", "opshootout_accuracy_rank",
)  # fmt: skip
_WRONG = cp.ReductionKernel(
    "T s, int64 t, bool ge", "int64 wrong",
    "((ge ? s >= (T)0.5 : s > (T)0.5) != (t == 1)) ? 1 : 0",
    "a + b", "wrong = a", "0", "opshootout_accuracy_wrong",
)  # fmt: skip


@implementation("classification_accuracy", "cupy", "fused")
def classification_accuracy(scores: Any, target: Any, k: Any, opts: AccuracyOptions) -> Any:
    """One fused row reduction, then a count and a float64 division."""
    n, c = check(scores, target, k, opts)
    if opts.task == "top_k":
        sy = cp.take_along_axis(scores, target[:, None], axis=1)
        cols = cp.arange(c, dtype=cp.int64)[None, :]
        rank = _RANK(scores, sy, cols, target[:, None], opts.tie_break == "lower_index", axis=1)
        return cp.count_nonzero(rank < k).astype(cp.float64) / n
    wrong = _WRONG(scores, target, opts.threshold == "ge", axis=1)
    if opts.task == "hamming":
        return (n * c - wrong.sum()).astype(cp.float64) / (n * c)
    return cp.count_nonzero(wrong == 0).astype(cp.float64) / n
