"""island_count in Numba: the classic two-pass labelling in one int32 buffer. The first raster
pass stores a union-find forest over 1-based cell indices in the label map itself (0 on
water). A land cell with one labelled neighbour above or to the left (or two already joined
through their shared diagonal) just copies that neighbour's pointer, an earlier cell of the
same tree; only where two neighbours may be apart (left and up with water between them; a
diagonal neighbour up-right under 8-connectivity) does it unite their trees. The smaller index
becomes the root and finds halve their paths, so every pointer goes to a smaller index.
The second raster pass rewrites the buffer in place: a root takes the next number, any other
cell its parent's, which is already final because the parent comes earlier. One read of the
grid, O(H*W), no second array."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.island_count import IslandOptions, check


@numba.njit(cache=False, inline="always")
def _find(parent: Any, a: int) -> int:  # pragma: no cover - compiled
    """The root of a (1-based index; parent[a - 1] holds a's parent)."""
    while parent[a - 1] != a:
        up = parent[parent[a - 1] - 1]
        parent[a - 1] = up  # path halving
        a = up
    return a


@numba.njit(cache=False, inline="always")
def _union(parent: Any, a: int, b: int) -> int:  # pragma: no cover - compiled
    ra, rb = _find(parent, a), _find(parent, b)
    if ra < rb:
        parent[rb - 1] = ra
        return ra
    parent[ra - 1] = rb
    return rb


@numba.njit(cache=False)
def _label(land: Any, eight: bool) -> Any:  # pragma: no cover - compiled
    h, w = land.shape
    labels = np.zeros((h, w), dtype=np.int32)
    flat = labels.reshape(-1)
    for i in range(h):
        for j in range(w):
            if not land[i, j]:
                continue
            c = i * w + j + 1
            left = j > 0 and land[i, j - 1] != 0
            up = i > 0 and land[i - 1, j] != 0
            if up:
                if left and not land[i - 1, j - 1]:  # left and up may be apart: unite them
                    flat[c - 1] = _union(flat, c - 1, c - w)
                else:  # one tree (or only up): point where up points
                    flat[c - 1] = flat[c - w - 1]
            elif left:
                flat[c - 1] = flat[c - 2]  # where left points: an earlier cell of its tree
                if eight and i > 0 and j + 1 < w and land[i - 1, j + 1]:
                    flat[c - 1] = _union(flat, c - 1, c - w + 1)
            else:
                flat[c - 1] = c
                if eight and i > 0:
                    if j > 0 and land[i - 1, j - 1]:
                        flat[c - 1] = flat[c - w - 2]
                    if j + 1 < w and land[i - 1, j + 1]:
                        flat[c - 1] = _union(flat, flat[c - 1], c - w + 1)
    count = 0
    for c in range(h * w):
        p = flat[c]
        if p == c + 1:
            count += 1
            flat[c] = count
        elif p:
            flat[c] = flat[p - 1]  # p - 1 < c: numbered already
    return count, labels


@implementation("island_count", "numba", "union_find")
def islands(grid: Any, opts: IslandOptions) -> Any:
    """Two raster passes over a union-find forest kept in the label buffer."""
    check(grid, opts)
    land = grid if grid.dtype == np.uint8 else grid != 0  # two compiled variants, not one per dtype
    count, labels = _label(land, opts.connectivity == 8)
    return np.int64(count), labels
