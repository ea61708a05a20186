"""island_count in torch, any device, as a data-parallel union-find: every cell starts as its
own root; each round hooks, for every edge between land cells of different trees, the larger
root under the smaller (scatter_reduce_ with amin), then compresses every tree by pointer
jumping (L <- L[L]) until each cell points at its root. Every tree hooks or is hooked onto,
so the trees fall geometrically: O(log) rounds of whole-tensor kernels, no loop over cells.
Edges inside one tree are dropped after each round. The host reads one flag per round and
per jump (the stopping tests)."""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.island_count import IslandOptions, check


def _edges(land: Any, eight: bool) -> tuple[Any, Any]:
    """(a, b) flat indices of every pair of neighbouring land cells, each pair once."""
    h, w = land.shape
    idx = torch.arange(h * w, dtype=torch.int64, device=land.device).reshape(h, w)
    pairs = [(land[:, :-1] & land[:, 1:], idx[:, :-1], 1), (land[:-1] & land[1:], idx[:-1], w)]
    if eight:
        pairs.append((land[:-1, :-1] & land[1:, 1:], idx[:-1, :-1], w + 1))
        pairs.append((land[:-1, 1:] & land[1:, :-1], idx[:-1, 1:], w - 1))
    a = torch.cat([start[m] for m, start, _ in pairs])
    b = torch.cat([start[m] + step for m, start, step in pairs])
    return a, b


@implementation("island_count", ("torch_cpu", "torch_cuda"), "pointer_jumping")
def islands(grid: Any, opts: IslandOptions) -> Any:
    """Hook roots by scatter-min over the edges, then pointer jumping; O(log) rounds."""
    check(grid, opts)
    h, w = grid.shape
    land = grid != 0
    cells = torch.arange(h * w, dtype=torch.int64, device=grid.device)
    roots = cells.clone()
    a, b = _edges(land, opts.connectivity == 8)
    while a.numel():
        ra, rb = roots[a], roots[b]
        apart = ra != rb
        a, b, ra, rb = a[apart], b[apart], ra[apart], rb[apart]
        if not a.numel():
            break
        roots.scatter_reduce_(0, torch.maximum(ra, rb), torch.minimum(ra, rb), reduce="amin")
        while True:
            jumped = roots[roots]
            if torch.equal(jumped, roots):
                break
            roots = jumped
    flat = land.reshape(-1)
    count = torch.count_nonzero(flat & (roots == cells)).to(torch.int64)
    labels = torch.where(flat, roots + 1, 0).to(torch.int32).reshape(h, w)
    return count, labels
