"""gcn_layer in CuPy: coefficients from the weighted in-degrees (bincount), self-loops as a
diagonal scaling, one gather-scale of source rows and one atomic cupy.add.at into the
targets' rows, cuBLAS for X·W on the narrower side.
"""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.gcn_layer import GcnOptions, check


@implementation("gcn_layer", "cupy", "add_at", supports={"adjacency": ("edge_list",)})
def gcn(x: Any, edge_index: Any, edge_weight: Any, weight: Any, bias: Any, opts: GcnOptions) -> Any:
    """bincount degrees, gather-scale rows, cupy.add.at per target, diagonal apart."""
    dtype = check(x, edge_index, edge_weight, weight, bias, opts)
    n, (f, fo) = x.shape[0], weight.shape
    src, dst = edge_index[0], edge_index[1]
    w = cp.ones(src.shape[0], dtype) if edge_weight is None else edge_weight
    if opts.duplicates == "first":
        keep = cp.sort(cp.unique(dst * n + src, return_index=True)[1])
        src, dst, w = src[keep], dst[keep], w[keep]
    if opts.self_loops == "add_remaining":
        loop = src == dst
        has = cp.bincount(src[loop], minlength=n) > 0
        sums = cp.bincount(src[loop], w[loop], minlength=n).astype(dtype)
        loop_w = cp.where(has, sums, dtype.type(1))
        src, dst, w = src[~loop], dst[~loop], w[~loop]
    else:
        loop_w = cp.full(n, 1.0 if opts.self_loops == "add" else 0.0, dtype)
    deg = loop_w + cp.bincount(dst, w, minlength=n).astype(dtype)
    if opts.normalization == "symmetric":
        inv = cp.where(deg > 0, 1 / cp.sqrt(cp.where(deg > 0, deg, 1)), 0).astype(dtype)
        c, cl = inv[src] * w * inv[dst], loop_w * inv * inv
    elif opts.normalization == "row":
        inv = cp.where(deg != 0, 1 / cp.where(deg != 0, deg, 1), 0).astype(dtype)
        c, cl = w * inv[dst], loop_w * inv
    else:
        c, cl = w, loop_w
    transform_first = fo <= f
    h = x.astype(dtype) @ weight if transform_first else x.astype(dtype)
    out = h * cl[:, None]
    if src.shape[0] and h.shape[1]:
        cp.add.at(out, dst, h[src] * c[:, None])
    if not transform_first:
        out = out @ weight
    return out if bias is None else out + bias
