"""island_count in pure Python: the grid flattened to one list, a depth-first flood fill from
each unlabelled land cell in raster order with an explicit stack (a recursive fill overflows
the interpreter's stack on a large island), neighbours found by index arithmetic."""

from __future__ import annotations

from typing import Any

from harness import implementation
from suites.island_count import IslandOptions, check


@implementation("island_count", "python", "stack", max_flops=2e6)
def islands(grid: Any, opts: IslandOptions) -> Any:
    """Flat lists, one explicit stack; labels numbered in raster order of first cells."""
    check(grid, opts)
    h = len(grid)
    w = len(grid[0]) if h else 0
    land = [v != 0 for row in grid for v in row]
    labels = [0] * (h * w)
    eight = opts.connectivity == 8
    count = 0
    for start in range(h * w):
        if not land[start] or labels[start]:
            continue
        count += 1
        labels[start] = count
        stack = [start]
        while stack:
            c = stack.pop()
            i, j = divmod(c, w)
            up, down, left, right = i > 0, i + 1 < h, j > 0, j + 1 < w
            near = []
            if up:
                near.append(c - w)
            if down:
                near.append(c + w)
            if left:
                near.append(c - 1)
            if right:
                near.append(c + 1)
            if eight:
                if up and left:
                    near.append(c - w - 1)
                if up and right:
                    near.append(c - w + 1)
                if down and left:
                    near.append(c + w - 1)
                if down and right:
                    near.append(c + w + 1)
            for n in near:
                if land[n] and not labels[n]:
                    labels[n] = count
                    stack.append(n)
    return count, [labels[i * w : (i + 1) * w] for i in range(h)]
