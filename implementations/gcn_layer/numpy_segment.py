"""gcn_layer in NumPy: the self-loops kept apart as a diagonal, the edges sorted by target
once, their scaled source rows summed per target with np.add.reduceat (a segmented sum, no
add.at), and the narrower of X and X·W aggregated (Â·(X·W) or (Â·X)·W, whichever moves
fewer columns).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.gcn_layer import GcnOptions, check, matrix_edges


def _coefficients(
    edge_index: Any, edge_weight: Any, n: int, opts: GcnOptions
) -> tuple[Any, Any, Any, Any]:
    """(sources, targets, edge coefficients, self-loop coefficient per node), float64."""
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
    deg = np.bincount(dst, w, minlength=n) + loop_w
    with np.errstate(divide="ignore"):
        if opts.normalization == "symmetric":
            inv = np.where(deg > 0, 1.0 / np.sqrt(deg), 0.0)
            return src, dst, inv[src] * w * inv[dst], loop_w * inv * inv
        if opts.normalization == "row":
            inv = np.where(deg != 0, 1.0 / deg, 0.0)
            return src, dst, w * inv[dst], loop_w * inv
    return src, dst, w, loop_w


@implementation("gcn_layer", "numpy", "segment_sum")
def gcn(x: Any, edge_index: Any, edge_weight: Any, weight: Any, bias: Any, opts: GcnOptions) -> Any:
    """Stable sort by target, gather-scale rows, np.add.reduceat per target, diagonal apart."""
    dtype = check(x, edge_index, edge_weight, weight, bias, opts)
    n, (f, fo) = x.shape[0], weight.shape
    if opts.adjacency != "edge_list":  # a dense or scipy.sparse A: its nonzero entries
        edge_index, edge_weight = matrix_edges(edge_index)
    src, dst, c, cl = _coefficients(edge_index, edge_weight, n, opts)
    first = fo <= f  # transform first: aggregate Fo columns instead of F
    h = np.matmul(x, weight, dtype=dtype) if first else x.astype(dtype, copy=False)
    out = h * cl.astype(dtype)[:, None]
    if src.shape[0] and h.shape[1]:
        order = np.argsort(dst, kind="stable")
        ds = dst[order]
        starts = np.flatnonzero(np.r_[True, ds[1:] != ds[:-1]])
        rows = h[src[order]]
        rows *= c[order].astype(dtype)[:, None]
        out[ds[starts]] += np.add.reduceat(rows, starts, axis=0)
    if not first:
        out = np.matmul(out, weight, dtype=dtype)
    return out if bias is None else out + bias
