"""random_triangle_circle in Numba: one pass over the rows, each sorted by a branch-free
network of minima and maxima in registers (random angles would mispredict swap branches)
and classified from its three float64 differences by mask arithmetic; rows split across
threads when Numba runs several."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from harness.numba_threads import threaded_njit
from suites.random_triangle_circle import ARGS, TriangleOptions


@threaded_njit(fastmath=False, boundscheck=False)
def _classify(x: Any, own_class: bool, out: Any) -> None:
    for i in numba.prange(x.shape[0]):
        x0, x1, x2 = np.float64(x[i, 0]), np.float64(x[i, 1]), np.float64(x[i, 2])
        lo, hi = min(x0, x1), max(x0, x1)
        c, mid = max(hi, x2), min(hi, x2)
        a, b = min(lo, mid), max(lo, mid)
        d1, d2, d3 = b - a, c - b, c - a
        label = np.int8((d1 >= 180.0) | (d2 >= 180.0) | (d3 <= 180.0))
        if own_class:
            label += np.int8((d1 == 180.0) | (d2 == 180.0) | (d3 == 180.0))
            label = np.int8(3) if (d1 == 0.0) | (d2 == 0.0) else label
        out[i] = label


@implementation("random_triangle_circle", "numba", "network")
def classify(angles: Any, opts: TriangleOptions) -> Any:
    """Compiled per-row sort and classification into an int8 label array."""
    ARGS.check(angles)
    out = np.empty(angles.shape[0], dtype=np.int8)
    _classify(angles, opts.special == "own_class", out)
    return out
