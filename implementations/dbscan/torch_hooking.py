"""dbscan in torch (CPU or CUDA): blocked squared distances by direct differences, edges
from nonzero, core components by min-label hooking (scatter_reduce amin) with pointer
jumping; border points take the smallest id among the clusters they reach.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.dbscan import check_inputs

ROWS = 1024  # rows per block of (ROWS, N) float64 distances


@implementation("dbscan", ("torch_cpu", "torch_cuda"), "hooking")
def dbscan(x: Any, eps: float, min_samples: int) -> Any:
    """Edges, cores, hooking to the smallest index of each component, canonical ids."""
    check_inputs(x, eps, min_samples)
    n, dev = len(x), x.device
    xt = x.to(torch.float64).T.contiguous()
    counts = torch.empty(n, dtype=torch.int64, device=dev)
    rows, cols = [], []
    for s in range(0, n, ROWS):
        d2 = torch.zeros((min(ROWS, n - s), n), dtype=torch.float64, device=dev)
        for f in range(len(xt)):
            d2.add_((xt[f, s : s + ROWS, None] - xt[f]).square_())
        within = d2 <= float(eps) * float(eps)
        counts[s : s + ROWS] = within.sum(dim=1)
        r, c = torch.nonzero(within, as_tuple=True)
        rows.append(r + s)
        cols.append(c)
    empty = torch.empty(0, dtype=torch.int64, device=dev)
    i, j = torch.cat(rows or [empty]), torch.cat(cols or [empty])
    core = counts >= min_samples
    both = core[i] & core[j] & (i < j)
    a, b = i[both], j[both]
    parent = torch.arange(n, device=dev)
    while True:
        pa, pb = parent[a], parent[b]
        cross = pa != pb
        if not bool(cross.any()):
            break
        hi, lo = torch.maximum(pa[cross], pb[cross]), torch.minimum(pa[cross], pb[cross])
        parent.scatter_reduce_(0, hi, lo, reduce="amin")
        while True:  # pointer jumping: every tree becomes a star
            up = parent[parent]
            if torch.equal(up, parent):
                break
            parent = up
    labels = torch.full((n,), -1, dtype=torch.int64, device=dev)
    roots, ids = torch.unique(parent[core], return_inverse=True)
    labels[core] = ids
    reach = ~core[i] & core[j]
    border = torch.full((n,), len(roots), dtype=torch.int64, device=dev)
    border.scatter_reduce_(0, i[reach], labels[j[reach]], reduce="amin")
    hit = border < len(roots)
    labels[hit] = border[hit]
    return labels, core
