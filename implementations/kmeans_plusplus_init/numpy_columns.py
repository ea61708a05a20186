"""kmeans_plusplus_init in NumPy: x is transposed once to one float64 row per feature, so
each pick's squared distances are D passes of (x_f - c_f)^2 over contiguous rows, folded
into the running minimum in place; np.cumsum and searchsorted pick the next centre.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.kmeans_plusplus_init import check_inputs


@implementation("kmeans_plusplus_init", "numpy", "columns")
def kmeans_plusplus_init(x: Any, u: Any) -> Any:
    """Per pick: d2 = sum_f (x_f - c_f)^2 by feature rows, w = min(w, d2), cumsum, search."""
    check_inputs(x, u)
    n, k = len(x), len(u)
    xt = np.ascontiguousarray(x.T, dtype=np.float64)
    idx = np.empty(k, dtype=np.int64)
    idx[0] = min(int(u[0] * n), n - 1)
    w, d2, t, cs = np.full(n, np.inf), np.empty(n), np.empty(n), np.empty(n)
    for j in range(1, k):
        c = xt[:, idx[j - 1]]
        d2.fill(0.0)
        for f in range(len(xt)):
            np.subtract(xt[f], c[f], out=t)
            np.multiply(t, t, out=t)
            d2 += t
        np.minimum(w, d2, out=w)
        np.cumsum(w, out=cs)
        total = float(cs[-1])
        if total == 0.0:
            idx[j] = min(int(u[j] * n), n - 1)
            continue
        i = int(np.searchsorted(cs, u[j] * total, side="right"))
        idx[j] = i if i < n else int(np.searchsorted(cs, total, side="left"))
    return x[idx], idx
