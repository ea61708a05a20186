"""se_block in Numba: one compiled loop over samples; per sample, its planes summed, the
bottleneck, its planes scaled. The squeeze accumulates in float64; the scaling pass is a
contiguous multiply per (n, c) plane in x's dtype, the loop LLVM vectorises.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.se_block import SeOptions, check

# No "nnan"/"ninf": NaN must reach its channel's output plane.
_FASTMATH = {"reassoc", "contract", "nsz", "arcp"}


# Serial: a parallel loop doubles the compile (about 4 s instead of 2 s of CPU per dtype on
# the 2-core reference machine) for a bytes-bound block whose timings run on one thread.
@numba.njit(cache=False, fastmath=_FASTMATH)
def _kernel(x: Any, w1: Any, b1: Any, w2: Any, b2: Any, hard: bool, out: Any) -> None:
    """x (N, C, L) planes; w1 (D, C), w2 (C, D); b1, b2 zeros when absent. Sample by sample:
    its planes summed, its bottleneck, its planes scaled (x read twice, y written once)."""
    n, c, length = x.shape
    d = w1.shape[0]
    for i in range(n):
        z = np.empty(c)
        for ch in range(c):  # squeeze
            s = 0.0
            for j in range(length):
                s += x[i, ch, j]
            z[ch] = s / length
        hidden, gates = np.empty(d), np.empty(c, dtype=x.dtype)  # gates: multiply in x.dtype
        for k in range(d):  # excitation: two small matvecs
            t = b1[k] + 0.0
            for ch in range(c):
                t += w1[k, ch] * z[ch]
            hidden[k] = t if t > 0.0 or t != t else 0.0  # ReLU; NaN stays NaN
        for ch in range(c):
            t = b2[ch] + 0.0
            for k in range(d):
                t += w2[ch, k] * hidden[k]
            if hard:
                gates[ch] = min(max(t + 3.0, 0.0), 6.0) / 6.0 if t == t else t
            else:
                gates[ch] = 1.0 / (1.0 + math.exp(-t))
            for j in range(length):  # scale the plane
                out[i, ch, j] = x[i, ch, j] * gates[ch]


@implementation("se_block", "numba", "fused")
def se(x: Any, w1: Any, b1: Any, w2: Any, b2: Any, reduction: int, opts: SeOptions) -> Any:
    """Parallel plane sums, per-sample bottleneck, parallel plane scaling."""
    check(x, w1, b1, w2, b2, reduction, opts)
    n, c, h, w = x.shape
    d = w1.shape[0]
    out = np.empty(x.shape, dtype=x.dtype)
    if out.size == 0:
        return out
    v1 = np.zeros(d, x.dtype) if b1 is None else b1
    v2 = np.zeros(c, x.dtype) if b2 is None else b2
    xc = np.ascontiguousarray(x).reshape(n, c, h * w)
    _kernel(xc, w1, v1, w2, v2, opts.gate == "hard_sigmoid", out.reshape(n, c, h * w))
    return out
