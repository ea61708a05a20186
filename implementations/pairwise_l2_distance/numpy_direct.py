"""pairwise_l2_distance in NumPy, direct: per coordinate, a broadcast difference of a column
of a against the matching row of b, squared and accumulated into a cache-sized tile of the
output. Never materialises (M, N, D); identical points give exactly 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.pairwise_l2_distance import ARGS, L2Options

_TILE = 2**17  # output elements per tile (512 KB in float32): the tile stays in L2


@implementation("pairwise_l2_distance", "numpy", "direct")
def pairwise_l2_distance(a: Any, b: Any, opts: L2Options) -> Any:
    """D passes of subtract-square-add over (rows, N) tiles, in the input dtype."""
    dtype = ARGS.check(a, b)
    a_cols = np.ascontiguousarray(a.T, dtype=dtype)  # (D, M): column k of a is a_cols[k]
    b_cols = np.ascontiguousarray(b.T, dtype=dtype)  # (D, N)
    m, n = a.shape[0], b.shape[0]
    out = np.zeros((m, n), dtype=dtype)
    rows = max(1, _TILE // max(n, 1))
    scratch = np.empty((min(rows, m), n), dtype=dtype)
    for start in range(0, m, rows):
        acc = out[start : start + rows]
        diff = scratch[: acc.shape[0]]
        for a_k, b_k in zip(a_cols[:, start : start + rows], b_cols, strict=True):
            np.subtract(a_k[:, None], b_k, out=diff)
            np.multiply(diff, diff, out=diff)
            acc += diff
    return out if opts.squared else np.sqrt(out, out=out)
