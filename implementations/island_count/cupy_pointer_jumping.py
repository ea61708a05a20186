"""island_count in CuPy as a data-parallel union-find: every cell starts as its own root;
each round hooks, for every edge between land cells of different trees, the larger root
under the smaller (cupyx.scatter_min, an atomic min per edge), then compresses every tree by
pointer jumping (L <- L[L]) until each cell points at its root. O(log) rounds of whole-array
kernels; edges inside one tree are dropped after each round."""

from __future__ import annotations

from typing import Any

import cupy as cp
import cupyx

from harness import implementation
from suites.island_count import IslandOptions, check


def _edges(land: Any, eight: bool) -> tuple[Any, Any]:
    """(a, b) flat indices of every pair of neighbouring land cells, each pair once."""
    h, w = land.shape
    idx = cp.arange(h * w, dtype=cp.int64).reshape(h, w)
    pairs = [(land[:, :-1] & land[:, 1:], idx[:, :-1], 1), (land[:-1] & land[1:], idx[:-1], w)]
    if eight:
        pairs.append((land[:-1, :-1] & land[1:, 1:], idx[:-1, :-1], w + 1))
        pairs.append((land[:-1, 1:] & land[1:, :-1], idx[:-1, 1:], w - 1))
    a = cp.concatenate([start[m] for m, start, _ in pairs])
    b = cp.concatenate([start[m] + step for m, start, step in pairs])
    return a, b


@implementation("island_count", "cupy", "pointer_jumping")
def islands(grid: Any, opts: IslandOptions) -> Any:
    """Hook roots by an atomic scatter-min over the edges, then pointer jumping."""
    check(grid, opts)
    h, w = grid.shape
    land = grid != 0
    cells = cp.arange(h * w, dtype=cp.int64)
    roots = cells.copy()
    a, b = _edges(land, opts.connectivity == 8)
    while a.size:
        ra, rb = roots[a], roots[b]
        apart = ra != rb
        a, b, ra, rb = a[apart], b[apart], ra[apart], rb[apart]
        if not a.size:
            break
        cupyx.scatter_min(roots, cp.maximum(ra, rb), cp.minimum(ra, rb))
        while True:
            jumped = roots[roots]
            if bool((jumped == roots).all()):
                break
            roots = jumped
    flat = land.reshape(-1)
    count = cp.count_nonzero(flat & (roots == cells)).astype(cp.int64)
    labels = cp.where(flat, roots + 1, 0).astype(cp.int32).reshape(h, w)
    return count, labels
