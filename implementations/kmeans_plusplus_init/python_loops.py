"""kmeans_plusplus_init in pure Python: per pick one loop over the points keeps each one's
smallest squared distance (Python floats: double precision) and the running sums, then
bisect picks the next centre.
"""

from __future__ import annotations

import bisect
from typing import Any

from harness import implementation
from suites.kmeans_plusplus_init import check_inputs


@implementation("kmeans_plusplus_init", "python", "loops", max_flops=2e7)
def kmeans_plusplus_init(x: Any, u: Any) -> Any:
    """Running minimum and running sums per pick; bisect_right on the sums."""
    check_inputs(x, u)
    n = len(x)
    idx = [min(int(u[0] * n), n - 1)]
    w = [float("inf")] * n
    for uj in u[1:]:
        c = x[idx[-1]]
        sums, s = [], 0.0
        for i, point in enumerate(x):
            d2 = 0.0
            for a, b in zip(point, c, strict=True):
                d2 += (a - b) * (a - b)
            if d2 < w[i]:
                w[i] = d2
            s += w[i]
            sums.append(s)
        if s == 0.0:
            idx.append(min(int(uj * n), n - 1))
            continue
        i = bisect.bisect_right(sums, uj * s)
        idx.append(i if i < n else bisect.bisect_left(sums, s))
    return [list(x[i]) for i in idx], idx
