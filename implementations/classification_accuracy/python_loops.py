"""classification_accuracy in pure Python: per row one scan counting the scores that rank
before the label's (greater, or equal and earlier in the tie order), stopping at k."""

from __future__ import annotations

from typing import Any

from harness import implementation
from suites.classification_accuracy import AccuracyOptions, check


@implementation("classification_accuracy", "python", "loops", max_flops=2e6)
def classification_accuracy(scores: Any, target: Any, k: Any, opts: AccuracyOptions) -> Any:
    """Plain lists; counts, then one division."""
    n, c = check(scores, target, k, opts)
    if opts.task == "top_k":
        hits, lower = 0, opts.tie_break == "lower_index"
        for row, y in zip(scores, target, strict=True):
            sy, rank = row[y], 0
            for j, v in enumerate(row):
                if v > sy or (v == sy and (j < y if lower else j > y)):
                    rank += 1
                    if rank >= k:
                        break
            hits += rank < k
        return hits / n
    ge = opts.threshold == "ge"
    right = 0
    for row, t in zip(scores, target, strict=True):
        ok = sum((v >= 0.5 if ge else v > 0.5) == (u == 1) for v, u in zip(row, t, strict=True))
        right += ok if opts.task == "hamming" else ok == c
    return right / (n * c if opts.task == "hamming" else n)
