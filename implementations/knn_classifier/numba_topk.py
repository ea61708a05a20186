"""knn_classifier in Numba: per query one pass over the training points with a sorted top-k
buffer; each squared distance is summed feature by feature and abandoned as soon as it
passes the current k-th (partial sums only grow), strict < keeps the lower index on ties.
Votes in a per-query class buffer; the first maximum is the smallest label.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.knn_classifier import KnnOptions, check_inputs


@numba.njit(cache=False)
def _classify(x: Any, cls: Any, q: Any, k: int, classes: int, by_distance: bool) -> Any:
    n, d = x.shape
    out = np.empty(len(q), dtype=np.int64)
    best = np.empty(k)
    idx = np.empty(k, dtype=np.int64)
    score = np.empty(classes)
    for r in range(len(q)):
        best[:] = np.inf
        for i in range(n):
            limit = best[k - 1]
            d2 = 0.0
            for f in range(d):
                t = np.float64(q[r, f]) - np.float64(x[i, f])
                d2 += t * t
                if d2 >= limit:
                    break
            if d2 < limit:
                j = k - 1
                while j > 0 and best[j - 1] > d2:
                    best[j] = best[j - 1]
                    idx[j] = idx[j - 1]
                    j -= 1
                best[j] = d2
                idx[j] = i
        score[:] = 0.0
        exact = by_distance and best[0] == 0.0
        for j in range(k):
            if not by_distance:
                score[cls[idx[j]]] += 1.0
            elif exact:
                if best[j] == 0.0:
                    score[cls[idx[j]]] += 1.0
            else:
                score[cls[idx[j]]] += 1.0 / np.sqrt(best[j])
        out[r] = np.argmax(score)
    return out


@implementation("knn_classifier", "numba", "topk")
def knn_classifier(x: Any, y: Any, q: Any, k: int, opts: KnnOptions) -> Any:
    """Early-abandoning direct distances into a sorted top-k buffer, then votes."""
    check_inputs(x, y, q, k)
    labels, cls = np.unique(y, return_inverse=True)
    xs, qs = np.ascontiguousarray(x), np.ascontiguousarray(q)
    found = _classify(xs, cls, qs, k, len(labels), opts.weights == "distance")
    return labels[found]
