"""pairwise_l2_distance in CuPy, direct: one GPU thread per (i, j) pair sums the squared
coordinate differences (ElementwiseKernel over the output, raw row-major inputs).

No GEMM expansion, so identical points give exactly 0 and offsets cost no accuracy.
"""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.pairwise_l2_distance import ARGS, L2Options

_SQUARED_DISTANCES = cp.ElementwiseKernel(
    "raw T a, raw T b, int64 n, int64 d",
    "T out",
    """
    const long long row = i / n;
    const long long col = i % n;
    T total = 0;
    for (long long k = 0; k < d; ++k) {
        const T diff = a[row * d + k] - b[col * d + k];
        total += diff * diff;
    }
    out = total;
    """,
    "pairwise_l2_squared_direct",
)


@implementation("pairwise_l2_distance", "cupy", "direct")
def pairwise_l2_distance(a: Any, b: Any, opts: L2Options) -> Any:
    """Squared distances from the kernel, then an in-place sqrt unless squared=True."""
    dtype = ARGS.check(a, b)
    a = cp.ascontiguousarray(a, dtype=dtype)
    b = cp.ascontiguousarray(b, dtype=dtype)
    m, n, d = a.shape[0], b.shape[0], a.shape[1]
    out = cp.empty((m, n), dtype=dtype)
    if out.size:
        _SQUARED_DISTANCES(a, b, n, d, out)
    return out if opts.squared else cp.sqrt(out, out=out)
