"""gcn_layer in Numba: one compiled pass builds the in-degrees and a CSR by target
(counting sort), then each target row accumulates its self-loop and its scaled source rows
of H = X·W (NumPy's BLAS) in registers-sized chunks and is written once. Duplicates and
existing self-loops are resolved in NumPy first (one np.unique for first-of-duplicates).
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.gcn_layer import GcnOptions, check, matrix_edges

_MODES = {"symmetric": 0, "row": 1, "none": 2}


@numba.njit(cache=False, fastmath={"reassoc", "contract", "nsz", "arcp"})
def _aggregate(src: Any, dst: Any, w: Any, loop_w: Any, mode: int, h: Any, out: Any) -> None:
    """out[i] = c_ii·h[i] + Σ_{j -> i} c_ij·h[j]; c from the weighted in-degree and mode."""
    n, k = h.shape
    e = src.shape[0]
    deg = loop_w.copy()
    count = np.zeros(n + 1, dtype=np.int64)
    for t in range(e):
        deg[dst[t]] += w[t]
        count[dst[t] + 1] += 1
    inv = np.zeros(n)
    for i in range(n):
        if mode == 0 and deg[i] > 0.0:
            inv[i] = 1.0 / math.sqrt(deg[i])
        elif mode == 1 and deg[i] != 0.0:
            inv[i] = 1.0 / deg[i]
        elif mode == 2:
            inv[i] = 1.0
    for i in range(n):
        count[i + 1] += count[i]
    fill = count[:n].copy()
    order = np.empty(e, dtype=np.int64)
    for t in range(e):  # stable counting sort by target
        order[fill[dst[t]]] = t
        fill[dst[t]] += 1
    acc = np.empty(k, dtype=h.dtype)
    for i in range(n):
        ci = loop_w[i] * inv[i] * (inv[i] if mode == 0 else 1.0)
        for q in range(k):
            acc[q] = ci * h[i, q]
        for p in range(count[i], count[i + 1]):
            t = order[p]
            j = src[t]
            c = w[t] * (inv[j] * inv[i] if mode == 0 else inv[i])
            for q in range(k):
                acc[q] += c * h[j, q]
        for q in range(k):
            out[i, q] = acc[q]


@implementation("gcn_layer", "numba", "csr_fused")
def gcn(x: Any, edge_index: Any, edge_weight: Any, weight: Any, bias: Any, opts: GcnOptions) -> Any:
    """Counting-sort CSR by target, per-row fused scale-accumulate of Â·(X·W) (or (Â·X)·W)."""
    dtype = check(x, edge_index, edge_weight, weight, bias, opts)
    n, (f, fo) = x.shape[0], weight.shape
    if opts.adjacency != "edge_list":  # a dense or scipy.sparse A: its nonzero entries
        edge_index, edge_weight = matrix_edges(edge_index)
    src, dst = edge_index[0], edge_index[1]
    w = np.ones(src.shape[0]) if edge_weight is None else edge_weight.astype(np.float64)
    if opts.duplicates == "first":
        keep = np.sort(np.unique(dst * n + src, return_index=True)[1])
        src, dst, w = src[keep], dst[keep], w[keep]
    if opts.self_loops == "add_remaining":
        loop = src == dst
        has = np.bincount(src[loop], minlength=n) > 0
        loop_w = np.where(has, np.bincount(src[loop], w[loop], minlength=n), 1.0)
        src, dst, w = src[~loop], dst[~loop], w[~loop]
    else:
        loop_w = np.full(n, 1.0 if opts.self_loops == "add" else 0.0)
    first = fo <= f
    h = np.ascontiguousarray(np.matmul(x, weight, dtype=dtype) if first else x.astype(dtype))
    out = np.empty_like(h)
    src64, dst64 = np.ascontiguousarray(src, np.int64), np.ascontiguousarray(dst, np.int64)
    _aggregate(src64, dst64, np.ascontiguousarray(w), loop_w, _MODES[opts.normalization], h, out)
    if not first:
        out = np.matmul(out, weight, dtype=dtype)
    return out if bias is None else out + bias
