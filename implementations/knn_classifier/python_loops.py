"""knn_classifier in pure Python: per query a list of (squared distance, index) pairs,
heapq.nsmallest for the k nearest (ties to the lower index), votes in a dict; the highest
total wins, ties to the smallest label.
"""

from __future__ import annotations

import heapq
import math
from typing import Any

from harness import implementation
from suites.knn_classifier import KnnOptions, check_inputs


@implementation("knn_classifier", "python", "loops", max_flops=2e7)
def knn_classifier(x: Any, y: Any, q: Any, k: int, opts: KnnOptions) -> Any:
    """nsmallest over (d2, index), then a vote per label."""
    check_inputs(x, y, q, k)
    out = []
    for point in q:
        pairs = []
        for i, row in enumerate(x):
            d2 = 0.0
            for a, b in zip(point, row, strict=True):
                d2 += (a - b) * (a - b)
            pairs.append((d2, i))
        near = heapq.nsmallest(k, pairs)
        exact = opts.weights == "distance" and near[0][0] == 0.0
        votes: dict[int, float] = {}
        for d2, i in near:
            if opts.weights == "uniform":
                w = 1.0
            elif exact:
                w = 1.0 if d2 == 0.0 else 0.0
            else:
                w = 1.0 / math.sqrt(d2)
            votes[y[i]] = votes.get(y[i], 0.0) + w
        out.append(min(votes, key=lambda label: (-votes[label], label)))
    return out
