"""kmeans_plusplus_init in CuPy: every pick stays on the device (no scalar read back):
squared distances in float64, running minimum, cumsum, searchsorted, and the zero-total and
rounding rules as cupy.where on 1-element arrays.
"""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.kmeans_plusplus_init import check_inputs


@implementation("kmeans_plusplus_init", "cupy", "device")
def kmeans_plusplus_init(x: Any, u: Any) -> Any:
    """Per pick: w = min(w, |x - c|^2), cs = cumsum(w), index by searchsorted."""
    check_inputs(x, u)
    n, k = len(x), len(u)
    x64 = x.astype(cp.float64)
    u = u.astype(cp.float64)
    uniform = cp.minimum(cp.floor(u * n).astype(cp.int64), n - 1)  # the zero-total rule
    idx = cp.empty(k, dtype=cp.int64)
    idx[0] = uniform[0]
    w = cp.full(n, cp.inf)
    for j in range(1, k):
        diff = x64 - x64[idx[j - 1]]
        cp.minimum(w, (diff * diff).sum(axis=1), out=w)
        cs = cp.cumsum(w)
        total = cs[-1:]
        i = cp.searchsorted(cs, u[j : j + 1] * total, side="right")
        i = cp.where(i < n, i, cp.searchsorted(cs, total))
        idx[j : j + 1] = cp.where(total == 0, uniform[j : j + 1], i)
    return x[idx], idx
