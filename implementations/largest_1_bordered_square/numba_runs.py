"""largest_1_bordered_square in Numba, one compiled pass: left and up runs of 1s, then per
bottom-right corner the sizes from min(left, up) down to one more than the best so far,
checking the top border (left run of the top-right cell) and the left border (up run of
the bottom-left cell). The best only grows, so most corners test nothing."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.largest_1_bordered_square import BorderOptions, check


@numba.njit(cache=True)
def _largest(ones: Any) -> int:
    h, w = ones.shape
    left = np.zeros((h, w), np.int32)
    up = np.zeros((h, w), np.int32)
    best = 0
    for i in range(h):
        run = 0
        for j in range(w):
            if ones[i, j]:
                run += 1
                left[i, j] = run
                up[i, j] = (up[i - 1, j] if i else 0) + 1
            else:
                run = 0
        for j in range(w):
            k = min(left[i, j], up[i, j])
            while k > best:
                if left[i - k + 1, j] >= k and up[i, j - k + 1] >= k:
                    best = k
                    break
                k -= 1
    return best


@implementation("largest_1_bordered_square", "numba", "runs")
def largest(grid: Any, opts: BorderOptions) -> Any:
    """Runs and the per-corner descending search in one compiled loop."""
    check(grid, opts)
    k = _largest(grid != 0)
    return np.int64(k * k if opts.answer == "area" else k)
