"""dbscan in CuPy: blocked squared distances by direct differences, edges from nonzero,
core components by hooking each larger root onto a smaller one (a plain scatter: any
smaller root will do, the smallest index of each component is the only root left at the
end) with pointer jumping; a border point takes one of the clusters it reaches (any is
right).
"""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.dbscan import check_inputs

ROWS = 4096  # rows per block of (ROWS, N) float64 distances


@implementation("dbscan", "cupy", "hooking")
def dbscan(x: Any, eps: float, min_samples: int) -> Any:
    """Edges, cores, hooking to the smallest index of each component, canonical ids."""
    check_inputs(x, eps, min_samples)
    n = len(x)
    xt = cp.ascontiguousarray(x.T, dtype=cp.float64)
    counts = cp.empty(n, dtype=cp.int64)
    rows, cols = [], []
    for s in range(0, n, ROWS):
        d2 = cp.zeros((min(ROWS, n - s), n))
        for f in range(len(xt)):
            d2 += cp.square(xt[f, s : s + ROWS, None] - xt[f])
        within = d2 <= float(eps) * float(eps)
        counts[s : s + ROWS] = within.sum(axis=1)
        r, c = cp.nonzero(within)
        rows.append(r + s)
        cols.append(c)
    empty = cp.empty(0, dtype=cp.int64)
    i, j = cp.concatenate(rows or [empty]), cp.concatenate(cols or [empty])
    core = counts >= min_samples
    both = core[i] & core[j] & (i < j)
    a, b = i[both], j[both]
    parent = cp.arange(n)
    while True:
        pa, pb = parent[a], parent[b]
        cross = pa != pb
        if not bool(cross.any()):
            break
        parent[cp.maximum(pa[cross], pb[cross])] = cp.minimum(pa[cross], pb[cross])
        while True:  # pointer jumping: every tree becomes a star
            up = parent[parent]
            if bool((up == parent).all()):
                break
            parent = up
    labels = cp.full(n, -1, dtype=cp.int64)
    _, ids = cp.unique(parent[core], return_inverse=True)
    labels[core] = ids.reshape(-1)
    reach = ~core[i] & core[j]
    labels[i[reach]] = labels[j[reach]]
    return labels, core
