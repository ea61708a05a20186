"""dbscan in NumPy: blocked squared distances by direct differences (one feature at a time
over contiguous rows), neighbour counts and the edge list from np.nonzero; core components
by min-label hooking with pointer jumping (O(log N) rounds of vectorised passes); border
points take the smallest id among the clusters they reach, as the index-order expansion
gives them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.dbscan import check_inputs

ROWS = 512  # rows per block: (ROWS, N) float64 distances, a few MB at the standard size


def _edges(x: Any, eps: float) -> tuple[Any, Any, Any]:
    """(counts, i, j) over all pairs within eps (self pairs included)."""
    n = len(x)
    xt = np.ascontiguousarray(x.T, dtype=np.float64)
    counts, rows, cols = np.empty(n, dtype=np.int64), [], []
    for s in range(0, n, ROWS):
        d2 = np.zeros((min(ROWS, n - s), n))
        for f in range(len(xt)):
            t = xt[f, s : s + ROWS, None] - xt[f]
            d2 += t * t
        within = d2 <= eps * eps
        counts[s : s + ROWS] = within.sum(axis=1)
        r, c = np.nonzero(within)
        rows.append(r + s)
        cols.append(c)
    empty = np.empty(0, dtype=np.int64)
    return counts, np.concatenate(rows or [empty]), np.concatenate(cols or [empty])


@implementation("dbscan", "numpy", "hooking")
def dbscan(x: Any, eps: float, min_samples: int) -> Any:
    """Edges, cores, hooking to the smallest index of each component, canonical ids."""
    check_inputs(x, eps, min_samples)
    n = len(x)
    counts, i, j = _edges(x, float(eps))
    core = counts >= min_samples
    both = core[i] & core[j] & (i < j)
    a, b = i[both], j[both]
    parent = np.arange(n)
    while True:
        pa, pb = parent[a], parent[b]
        cross = pa != pb
        if not cross.any():
            break
        np.minimum.at(parent, np.maximum(pa[cross], pb[cross]), np.minimum(pa[cross], pb[cross]))
        while True:  # pointer jumping: every tree becomes a star
            up = parent[parent]
            if np.array_equal(up, parent):
                break
            parent = up
    labels = np.full(n, -1, dtype=np.int64)
    roots, ids = np.unique(parent[core], return_inverse=True)
    labels[core] = ids
    reach = ~core[i] & core[j]
    border = np.full(n, len(roots), dtype=np.int64)
    np.minimum.at(border, i[reach], labels[j[reach]])
    hit = border < len(roots)
    labels[hit] = border[hit]
    return labels, core
