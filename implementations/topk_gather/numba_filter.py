"""topk_gather in Numba: one filtering pass per line against a running k-th key, the few
candidates selected and sorted in a small buffer; lines in parallel.

Every entry becomes a monotone integer key, read from its bits (float32 -> int32, float64 ->
int64; integers are their own key), so that ascending key is rank order: NaN made canonical
and above +inf, -0.0 folded onto 0.0, the whole key negated bitwise when largest (exact, no
overflow). A line is scanned once; an entry is kept in a buffer only when its key is
strictly below the k-th smallest key kept so far (an equal key comes later in the line, so
it ranks below that k-th entry under the lower-index rule and can never enter the top k).
When the buffer fills, a quickselect on (key, index) keeps its best k and lowers the
threshold; at the end the k survivors are heapsorted on (key, index). That order is exactly
stable_lower_index, and a valid 'unspecified' or unsorted answer. On a random line of n
entries about k ln(n / k) entries pass the filter: the pass is one load, a few integer
operations and one well-predicted branch per entry.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from harness.numba_threads import threaded_njit
from suites.topk_gather import TopkOptions, check


@numba.njit(cache=True, inline="always")
def _key(b: Any, is_float: bool, largest: bool, mask: Any, inf: Any, shift: int) -> Any:
    """The monotone int64 key of one entry: its float bits (sign-extended; mask, inf, shift
    of the float's width) when is_float, else the integer itself."""
    b = np.int64(b)
    if is_float:
        mag = b & mask
        if mag > inf:  # any NaN: one canonical key (mask) above +inf's
            b = mask
        elif mag == 0:  # -0.0 ties 0.0
            b = 0
        else:  # negative floats: flip the magnitude bits so more negative is smaller
            b = b ^ ((b >> shift) & mask)
    return ~b if largest else b


@numba.njit(cache=True, inline="always")
def _before(ka: Any, ia: Any, kb: Any, ib: Any) -> Any:
    """Entry a ranks before entry b: the smaller key, then the lower index."""
    return ka < kb or (ka == kb and ia < ib)


@numba.njit(cache=True)
def _select(keys: Any, idx: Any, m: int, k: int) -> None:
    """Rearrange the buffer's first m entries so that its first k are the k best, the k-th
    best at position k - 1 (quickselect, Hoare partitions on a median of three; the pairs
    are distinct, their indices are)."""
    lo, hi, target = 0, m - 1, k - 1
    while lo < hi:
        mid = (lo + hi) // 2
        a, b, c = lo, mid, hi  # the median of three as the pivot
        if _before(keys[b], idx[b], keys[a], idx[a]):
            a, b = b, a
        if _before(keys[c], idx[c], keys[b], idx[b]):
            b = c
            if _before(keys[b], idx[b], keys[a], idx[a]):
                b = a
        pk, pi = keys[b], idx[b]
        i, j = lo, hi
        while i <= j:
            while _before(keys[i], idx[i], pk, pi):
                i += 1
            while _before(pk, pi, keys[j], idx[j]):
                j -= 1
            if i <= j:
                keys[i], keys[j] = keys[j], keys[i]
                idx[i], idx[j] = idx[j], idx[i]
                i += 1
                j -= 1
        if target <= j:
            hi = j
        elif target >= i:
            lo = i
        else:  # between j and i: the pivot itself
            break


@numba.njit(cache=True)
def _sort(keys: Any, idx: Any, k: int) -> None:
    """Heapsort of the first k entries into rank order (worst at the root, popped last)."""
    for end in range(k, 0, -1):
        start = end // 2 - 1 if end == k else 0
        for root in range(start, -1, -1):  # heapify at first, one sift-down after
            c = root
            while True:
                child = 2 * c + 1
                if child >= end:
                    break
                if child + 1 < end and _before(keys[child], idx[child], keys[child + 1],
                                               idx[child + 1]):  # fmt: skip
                    child += 1
                if _before(keys[c], idx[c], keys[child], idx[child]):
                    keys[c], keys[child] = keys[child], keys[c]
                    idx[c], idx[child] = idx[child], idx[c]
                    c = child
                else:
                    break
        keys[0], keys[end - 1] = keys[end - 1], keys[0]
        idx[0], idx[end - 1] = idx[end - 1], idx[0]


@numba.njit(cache=True)
def _line(bits: Any, is_float: bool, largest: bool, k: int, keys: Any, idx: Any,
          out: Any) -> None:  # fmt: skip
    """The top k of one line (integers or float bits), in rank order, into out (indices)."""
    n, cap = bits.shape[0], keys.shape[0]
    wide = bits.itemsize == 8  # float32 bits come sign-extended from int32
    mask = np.int64(0x7FFFFFFFFFFFFFFF) if wide else np.int64(0x7FFFFFFF)
    inf = np.int64(0x7FF0000000000000) if wide else np.int64(0x7F800000)
    shift = 63 if wide else 31
    m = min(n, cap)
    for j in range(m):
        keys[j] = _key(bits[j], is_float, largest, mask, inf, shift)
        idx[j] = j
    _select(keys, idx, m, k)
    thr = keys[k - 1]
    m = k
    for j in range(cap, n):
        key = _key(bits[j], is_float, largest, mask, inf, shift)
        if key < thr:
            keys[m] = key
            idx[m] = j
            m += 1
            if m == cap:
                _select(keys, idx, m, k)
                thr = keys[k - 1]
                m = k
    _select(keys, idx, m, k)
    _sort(keys, idx, k)
    for r in range(k):
        out[r] = idx[r]


@threaded_njit()
def _topk(bits: Any, is_float: bool, largest: bool, k: int,
          out: Any) -> None:  # pragma: no cover  # fmt: skip
    R, n = bits.shape
    cap = min(n, 4 * k + 256)  # compactions: rare on random lines, O(n / cap) at worst
    for r in numba.prange(R):
        keys = np.empty(cap, np.int64)
        idx = np.empty(cap, np.int64)
        _line(bits[r], is_float, largest, k, keys, idx, out[r])


def _bits(a: np.ndarray) -> tuple[np.ndarray, bool]:
    """A C-contiguous int32 or int64 array (two compiled signatures) that _key ranks, and
    whether it holds float bits: float32 / float64 viewed as integers, int32 / int64 as they
    are. Narrower types widen exactly; uint64 flips its top bit (order kept, as int64)."""
    if a.dtype.kind == "f":
        a = np.ascontiguousarray(a if a.dtype.itemsize >= 4 else a.astype(np.float32))
        return a.view(np.int32 if a.dtype.itemsize == 4 else np.int64), True
    if a.dtype == np.int32 or a.dtype == np.int64:
        return np.ascontiguousarray(a), False
    if a.dtype == np.uint64:
        return (a ^ np.uint64(1 << 63)).view(np.int64), False
    return a.astype(np.int64), False


@implementation("topk_gather", "numba", "filter")
def topk(x: Any, k: int, dim: int, opts: TopkOptions) -> tuple[Any, Any]:
    """A threshold filter per line over integer keys, the candidates sorted; lines in
    parallel. Always in rank order with the lower index first among ties (every option)."""
    _, axis = check(x, k, dim, opts)
    a = np.moveaxis(x, axis, -1)
    idx = np.empty((a.shape[0], int(k)), np.int64)
    if idx.size:
        _topk(*_bits(a), bool(opts.largest), int(k), idx)
    values = np.take_along_axis(a, idx, axis=-1)
    return np.moveaxis(values, -1, axis), np.moveaxis(idx, -1, axis)
