"""largest_1_bordered_square in NumPy without a loop over cells: left and up runs of 1s by
cumulative operations (index minus the running maximum of the last 0's index), c = min(left,
up) bounds the square ending at each bottom-right corner; then for k from max(c) down, a
whole-array test on the corners with c >= k (kept as flat index lists that shrink as k
grows smaller only where needed): the top border is left[i - k + 1, j] >= k and the left
border up[i, j - k + 1] >= k. The first k with a hit is the answer."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.largest_1_bordered_square import BorderOptions, check


def _runs(ones: Any, axis: int) -> Any:
    """Length of the run of 1s ending at each cell along axis (0 on a 0)."""
    n = ones.shape[axis]
    shape = [1, 1]
    shape[axis] = n
    idx = np.arange(1, n + 1, dtype=np.int32).reshape(shape)
    last_zero = np.maximum.accumulate(np.where(ones, 0, idx), axis=axis)
    return idx - last_zero


@implementation("largest_1_bordered_square", "numpy", "runs")
def largest(grid: Any, opts: BorderOptions) -> Any:
    """Runs by cumulative maxima, then sizes from the largest bound down, vectorised."""
    check(grid, opts)
    ones = grid != 0
    w = ones.shape[1]
    best = 0
    if ones.any():
        left, up = _runs(ones, 1), _runs(ones, 0)
        bound = np.minimum(left, up).ravel()
        order = np.argsort(-bound, kind="stable")
        limits = bound[order]
        for k in range(int(limits[0]), 0, -1):
            cand = order[: np.searchsorted(-limits, -k, side="right")]
            i, j = cand // w, cand % w
            if np.any((left[i - k + 1, j] >= k) & (up[i, j - k + 1] >= k)):
                best = k
                break
    return np.int64(best * best if opts.answer == "area" else best)
