"""topk_gather in NumPy: np.argpartition on a monotone int64 key, the boundary ties fixed.

The key (suites.topk_gather.sortable_key) makes every rule a plain ascending order on
integers: NaN largest, -0.0 = 0.0, largest by bitwise negation. argpartition finds the k-th
key per line in O(n); keys below it are all in, and the lowest-indexed entries equal to it
fill the rest (stable_lower_index), so only the k chosen entries are sorted (stably).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.topk_gather import TopkOptions, check, sortable_key


@implementation("topk_gather", "numpy", "partition")
def topk(x: Any, k: int, dim: int, opts: TopkOptions) -> tuple[Any, Any]:
    """argpartition at k-1, ties at the k-th key resolved by index, a stable sort of k."""
    _, axis = check(x, k, dim, opts)
    a = np.moveaxis(x, axis, -1)
    R = a.shape[0]
    if k == 0 or R == 0:
        idx = np.zeros((R, k), np.int64)
    else:
        key = sortable_key(a, opts.largest)
        part = np.argpartition(key, k - 1, axis=-1)
        if opts.tie_break == "unspecified":
            idx = part[:, :k]
        else:
            kth = np.take_along_axis(key, part[:, k - 1 : k], axis=-1)
            below = key < kth
            equal = key == kth
            room = k - below.sum(axis=-1, keepdims=True)
            chosen = below | (equal & (np.cumsum(equal, axis=-1) <= room))
            idx = np.nonzero(chosen)[1].reshape(R, k)  # in index order
        if opts.sorted:
            order = np.argsort(np.take_along_axis(key, idx, axis=-1), axis=-1, kind="stable")
            idx = np.take_along_axis(idx, order, axis=-1)
        idx = idx.astype(np.int64, copy=False)
    values = np.take_along_axis(a, idx, axis=-1)
    return np.moveaxis(values, -1, axis), np.moveaxis(idx, -1, axis)
