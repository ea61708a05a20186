"""group_layer_instance_norm in Numba: one compiled kernel, the sets of statistics in parallel.

Each set of statistics (a row of K values) takes a sum pass and a squared-deviation pass with
float64 accumulators, then one pass writes (x - mean)·(rstd·gamma) + beta. GroupNorm and
InstanceNorm rows are walked channel by channel (the affine is per channel, hoisted out of
the inner loop); LayerNorm rows take the affine per element. One kernel serves all three, so
each dtype compiles once.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from harness import implementation
from harness.numba_threads import threaded_njit
from suites.group_layer_instance_norm import NormOptions, check, stat_rows

# No "nnan"/"ninf": NaN must propagate to its set; the rest lets the reductions vectorise.
_FASTMATH = {"reassoc", "contract", "nsz", "arcp"}


@threaded_njit(fastmath=_FASTMATH)
def _kernel(x3: Any, w: Any, b: Any, groups: int, per_element: bool, eps: float, out: Any) -> None:
    """x3 (R, Cg, L): row r holds channels (r % groups)·Cg ... + Cg - 1, L positions each
    (LayerNorm: Cg = 1 and the affine indexed by the position, per_element)."""
    rows, cg, length = x3.shape
    k = cg * length
    for r in numba.prange(rows):
        s = 0.0
        for c in range(cg):
            for j in range(length):
                s += x3[r, c, j]
        mean = s / k
        q = 0.0
        for c in range(cg):
            for j in range(length):
                d = x3[r, c, j] - mean
                q += d * d
        rstd = 1.0 / math.sqrt(q / k + eps)
        c0 = (r % groups) * cg
        for c in range(cg):
            if per_element:
                for j in range(length):
                    out[r, c, j] = (x3[r, c, j] - mean) * (rstd * w[j]) + b[j]
            else:  # the channel's scale and shift, hoisted out of the position loop
                scale, shift = rstd * w[c0 + c], b[c0 + c]
                for j in range(length):
                    out[r, c, j] = (x3[r, c, j] - mean) * scale + shift


@implementation("group_layer_instance_norm", "numba", "fused")
def norm(x: Any, weight: Any, bias: Any, num_groups: int, opts: NormOptions) -> Any:
    """Sum pass, deviation pass, write pass per set; sets spread over threads."""
    check(x, weight, bias, num_groups, opts)
    shape = tuple(x.shape)
    r, k = stat_rows(shape, num_groups, opts)
    out = np.empty(shape, dtype=x.dtype)
    if r * k == 0:
        return out
    xc = np.ascontiguousarray(x)
    n_affine = k if opts.norm == "layer" else shape[1]
    w = np.ones(n_affine, x.dtype) if weight is None else np.ascontiguousarray(weight).reshape(-1)
    b = np.zeros(n_affine, x.dtype) if bias is None else np.ascontiguousarray(bias).reshape(-1)
    layer = opts.norm == "layer"
    groups = 1 if layer else num_groups if opts.norm == "group" else shape[1]
    cg = 1 if layer else shape[1] // groups
    view = (r, cg, k // cg)
    _kernel(xc.reshape(view), w, b, groups, layer, opts.eps, out.reshape(view))
    return out
