"""topk_gather in Numba: a bounded max-heap of k (tier, key, index) triples per line, lines
in parallel.

Each entry is compared with the heap's worst element first (one comparison for most entries
of a long line), so the cost is O(n + m log k) for m replacements. The rank is read straight
from the input (no key array): tier 0/2 for NaN (largest: best; smallest: worst), key -x or
x (-0.0 equals 0.0 as floats compare), then the index, which is exactly stable_lower_index
(and a valid 'unspecified' answer). Integer inputs go through the suite's monotone int64 key.
The k survivors are sorted at the end when asked.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from harness.numba_threads import threaded_njit
from suites.topk_gather import TopkOptions, check, sortable_key


@numba.njit(cache=True, inline="always")
def _worse(ta: Any, ka: Any, ia: Any, tb: Any, kb: Any, ib: Any) -> Any:
    return ta > tb or (ta == tb and (ka > kb or (ka == kb and ia > ib)))


@threaded_njit()
def _topk(a: Any, largest: bool, k: int, sort: bool, out_idx: Any) -> None:  # pragma: no cover
    R, n = a.shape
    nan_tier = 0 if largest else 2
    zero = np.zeros(1, a.dtype)[0]  # the key of every NaN (its tier decides)
    for r in numba.prange(R):
        ht = np.empty(k, np.int64)
        hk = np.empty(k, a.dtype)
        hi = np.empty(k, np.int64)
        size = 0
        for j in range(n):
            v = a[r, j]
            if v != v:
                tj, kj = nan_tier, zero
            else:
                tj, kj = 1, (-v if largest else v)
            if size < k:  # sift up
                c = size
                size += 1
                while c > 0:
                    p = (c - 1) // 2
                    if _worse(tj, kj, j, ht[p], hk[p], hi[p]):
                        ht[c], hk[c], hi[c] = ht[p], hk[p], hi[p]
                        c = p
                    else:
                        break
                ht[c], hk[c], hi[c] = tj, kj, j
            elif _worse(ht[0], hk[0], hi[0], tj, kj, j):  # better than the worst kept
                c = 0
                while True:
                    left = 2 * c + 1
                    if left >= k:
                        break
                    w = left
                    if left + 1 < k and _worse(
                        ht[left + 1], hk[left + 1], hi[left + 1], ht[left], hk[left], hi[left]
                    ):
                        w = left + 1
                    if _worse(ht[w], hk[w], hi[w], tj, kj, j):
                        ht[c], hk[c], hi[c] = ht[w], hk[w], hi[w]
                        c = w
                    else:
                        break
                ht[c], hk[c], hi[c] = tj, kj, j
        if sort:  # pop the worst to the back: rank order
            for end in range(k - 1, 0, -1):
                tt, tk, ti = ht[end], hk[end], hi[end]
                ht[end], hk[end], hi[end] = ht[0], hk[0], hi[0]
                c = 0
                while True:
                    left = 2 * c + 1
                    if left >= end:
                        break
                    w = left
                    if left + 1 < end and _worse(
                        ht[left + 1], hk[left + 1], hi[left + 1], ht[left], hk[left], hi[left]
                    ):
                        w = left + 1
                    if _worse(ht[w], hk[w], hi[w], tt, tk, ti):
                        ht[c], hk[c], hi[c] = ht[w], hk[w], hi[w]
                        c = w
                    else:
                        break
                ht[c], hk[c], hi[c] = tt, tk, ti
        for t in range(k):
            out_idx[r, t] = hi[t]


@implementation("topk_gather", "numba", "heap")
def topk(x: Any, k: int, dim: int, opts: TopkOptions) -> tuple[Any, Any]:
    """A k-heap per line read straight from x (floats), lines in parallel."""
    _, axis = check(x, k, dim, opts)
    a = np.moveaxis(x, axis, -1)
    idx = np.empty((a.shape[0], int(k)), np.int64)
    if idx.size:
        if a.dtype.kind == "f":
            _topk(a, bool(opts.largest), int(k), bool(opts.sorted), idx)
        else:  # integers: the monotone int64 key, ascending is best first
            _topk(sortable_key(a, opts.largest), False, int(k), bool(opts.sorted), idx)
    values = np.take_along_axis(a, idx, axis=-1)
    return np.moveaxis(values, -1, axis), np.moveaxis(idx, -1, axis)
