"""kmeans_plusplus_init in Numba: one pass per pick computes each point's squared distance
to the newest centre (float64, direct differences), folds it into the running minimum and
extends the running sum in the same loop; a binary search then picks the next centre.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.kmeans_plusplus_init import check_inputs


@numba.njit(cache=False)
def _seed(x: Any, u: Any, idx: Any) -> None:
    n, d = x.shape
    w = np.full(n, np.inf)
    cs = np.empty(n)
    idx[0] = min(int(u[0] * n), n - 1)
    for j in range(1, len(u)):
        c = x[idx[j - 1]].astype(np.float64)
        s = 0.0
        for i in range(n):
            d2 = 0.0
            for f in range(d):
                t = np.float64(x[i, f]) - c[f]
                d2 += t * t
            if d2 < w[i]:
                w[i] = d2
            s += w[i]
            cs[i] = s
        if s == 0.0:
            idx[j] = min(int(u[j] * n), n - 1)
            continue
        target = u[j] * s
        lo, hi = 0, n  # smallest i with cs[i] > target
        while lo < hi:
            mid = (lo + hi) // 2
            if cs[mid] > target:
                hi = mid
            else:
                lo = mid + 1
        if lo == n:  # rounding: the first point whose running sum reaches the total
            lo = 0
            while cs[lo] < s:
                lo += 1
        idx[j] = lo


@implementation("kmeans_plusplus_init", "numba", "fused")
def kmeans_plusplus_init(x: Any, u: Any) -> Any:
    """Distance, running minimum and running sum fused in one loop per pick."""
    check_inputs(x, u)
    idx = np.empty(len(u), dtype=np.int64)
    _seed(np.ascontiguousarray(x), np.ascontiguousarray(u, dtype=np.float64), idx)
    return x[idx], idx
