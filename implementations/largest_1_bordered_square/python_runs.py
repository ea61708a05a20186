"""largest_1_bordered_square in pure Python: runs of 1s ending at each cell to the left and
upward (one pass), then for each bottom-right corner the sizes from min(left, up) down to
one more than the best so far, checking the top border (left run of the top-right cell)
and the left border (up run of the bottom-left cell)."""

from __future__ import annotations

from typing import Any

from harness import implementation
from suites.largest_1_bordered_square import BorderOptions, check


@implementation("largest_1_bordered_square", "python", "runs", max_flops=1e6)
def largest(grid: Any, opts: BorderOptions) -> Any:
    """Left/up runs, then per corner the candidate sizes above the best, largest first."""
    check(grid, opts)
    h = len(grid)
    w = len(grid[0]) if h else 0
    left = [[0] * w for _ in range(h)]
    up = [[0] * w for _ in range(h)]
    best = 0
    for i in range(h):
        row, lrow, urow = grid[i], left[i], up[i]
        above = up[i - 1] if i else [0] * w
        run = 0
        for j in range(w):
            if row[j] != 0:
                run += 1
                lrow[j] = run
                urow[j] = above[j] + 1
            else:
                run = 0
        for j in range(w):
            k = min(lrow[j], urow[j])
            while k > best:
                if left[i - k + 1][j] >= k and up[i][j - k + 1] >= k:
                    best = k
                    break
                k -= 1
    return best * best if opts.answer == "area" else best
