"""pairwise_l2_distance in Numba: a serial loop over pairs, each a direct sum of squared
coordinate differences in the input dtype. Identical points give exactly 0.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.pairwise_l2_distance import ARGS, L2Options


# "reassoc" lets LLVM vectorise the D-long reduction (order of the sum only); no nnan/ninf,
# so NaN and inf still propagate.
@numba.njit(cache=False, fastmath={"reassoc"})
def _distances(a: Any, b: Any, out: Any, squared: bool) -> None:
    m, d = a.shape
    n = b.shape[0]
    zero = out.dtype.type(0)
    for i in range(m):
        for j in range(n):
            total = zero
            for k in range(d):
                diff = a[i, k] - b[j, k]
                total += diff * diff
            out[i, j] = total if squared else np.sqrt(total)


@implementation("pairwise_l2_distance", "numba", "direct")
def pairwise_l2_distance(a: Any, b: Any, opts: L2Options) -> Any:
    """Validate here, loop in the kernel; rows of a and b are made contiguous first."""
    dtype = ARGS.check(a, b)
    a = np.ascontiguousarray(a, dtype=dtype)
    b = np.ascontiguousarray(b, dtype=dtype)
    out = np.empty((a.shape[0], b.shape[0]), dtype=dtype)
    _distances(a, b, out, opts.squared)
    return out
