"""dbscan in Numba: every pair examined once (i < j, the brute force the cost model counts:
a sweep along a sorted axis would skip most pairs, but then the work is the data's, not
the model's), float64 direct differences, the neighbour lists stored as CSR; then one
breadth-first expansion per unlabelled core point in index order, like the oracle.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.dbscan import check_inputs


@numba.njit(cache=False)
def _pairs(xs: Any, eps2: float, fill: bool, starts: Any, out: Any) -> Any:
    """Count (fill=False) or write (fill=True) the neighbours of each point."""
    n, d = xs.shape
    counts = np.zeros(n, dtype=np.int64)
    for i in range(n):
        for j in range(i, n):
            d2 = 0.0
            for f in range(d):
                t = xs[j, f] - xs[i, f]
                d2 += t * t
            if d2 <= eps2:
                if fill:
                    out[starts[i] + counts[i]] = j
                counts[i] += 1
                if i != j:
                    if fill:
                        out[starts[j] + counts[j]] = i
                    counts[j] += 1
    return counts


@numba.njit(cache=False)
def _expand(starts: Any, nbrs: Any, core: Any) -> Any:
    n = len(core)
    labels = np.full(n, -1, dtype=np.int64)
    queue = np.empty(n, dtype=np.int64)
    cluster = 0
    for seed in range(n):
        if not core[seed] or labels[seed] >= 0:
            continue
        labels[seed] = cluster
        head, tail = 0, 1
        queue[0] = seed
        while head < tail:
            i = queue[head]
            head += 1
            for k in range(starts[i], starts[i + 1]):
                j = nbrs[k]
                if labels[j] < 0:
                    labels[j] = cluster
                    if core[j]:
                        queue[tail] = j
                        tail += 1
        cluster += 1
    return labels


@implementation("dbscan", "numba", "pairs")
def dbscan(x: Any, eps: float, min_samples: int) -> Any:
    """Pairs once each for the neighbour lists, then index-order breadth-first expansion."""
    check_inputs(x, eps, min_samples)
    n = len(x)
    xs = np.ascontiguousarray(x, dtype=np.float64)
    eps2 = float(eps) * float(eps)
    none = np.empty(0, dtype=np.int64)
    counts = _pairs(xs, eps2, False, none, none)
    starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    nbrs = np.empty(starts[-1], dtype=np.int64)
    _pairs(xs, eps2, True, starts, nbrs)
    core = counts >= min_samples
    return _expand(starts, nbrs, core), core
