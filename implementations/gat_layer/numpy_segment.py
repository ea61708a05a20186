"""gat_layer in NumPy: one GEMM for all heads, two per-node score vectors (no per-edge
concatenation), the terms sorted by target once, then the edge softmax and the weighted
sum as segmented reductions (np.maximum.reduceat, np.add.reduceat) over (terms, H) and
(terms, H, C) arrays, in the input dtype. A dense or scipy.sparse count matrix is read as
its nonzero entries, each term's exp weighed by its count.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.gat_layer import GatOptions, check
from suites.gcn_layer import matrix_edges


@implementation("gat_layer", "numpy", "segment_softmax")
def gat(x: Any, edge_index: Any, weight: Any, att_src: Any, att_dst: Any, opts: GatOptions) -> Any:
    """X·W once; per-node scores; sort by target; reduceat max, exp-sum, weighted sum."""
    dtype = check(x, edge_index, weight, att_src, att_dst, opts)
    n, (f, h, c) = x.shape[0], weight.shape
    z = np.matmul(x, weight.reshape(f, h * c), dtype=dtype).reshape(n, h, c)
    s_src = np.einsum("nhc,hc->nh", z, att_src)
    s_dst = np.einsum("nhc,hc->nh", z, att_dst)
    mult = None  # an edge list: one term per edge
    if opts.adjacency != "edge_list":  # dense or scipy.sparse: nonzero entries, multiplicities
        edge_index, mult = matrix_edges(edge_index)
        mult = None if opts.multi_edges == "once" else mult.astype(dtype)
    src, dst = edge_index[0], edge_index[1]
    if opts.multi_edges == "once" and opts.adjacency == "edge_list":
        keep = np.sort(np.unique(dst * n + src, return_index=True)[1])
        src, dst = src[keep], dst[keep]
    if opts.self_loops == "replace":
        keep = src != dst
        nodes = np.arange(n)
        src, dst = np.concatenate([src[keep], nodes]), np.concatenate([dst[keep], nodes])
        if mult is not None:
            mult = np.concatenate([mult[keep], np.ones(n, dtype)])
    out = np.zeros((n, h, c), dtype=dtype)
    if src.shape[0] and h and c:
        order = np.argsort(dst, kind="stable")
        src, dst = src[order], dst[order]
        mult = None if mult is None else mult[order]
        starts = np.flatnonzero(np.r_[True, dst[1:] != dst[:-1]])
        seg = np.repeat(np.arange(starts.shape[0]), np.diff(np.r_[starts, dst.shape[0]]))
        e = s_src[src] + s_dst[dst]
        e = np.where(e > 0, e, e * dtype.type(opts.negative_slope))
        p = np.exp(e - np.maximum.reduceat(e, starts, axis=0)[seg])
        if mult is not None:
            p *= mult[:, None]
        p /= np.add.reduceat(p, starts, axis=0)[seg]
        out[dst[starts]] = np.add.reduceat(p[:, :, None] * z[src], starts, axis=0)
    y = out.reshape(n, h * c) if opts.heads == "concat" else out.mean(axis=1, dtype=dtype)
    if opts.activation == "elu":
        y = np.where(y > 0, y, np.expm1(np.minimum(y, 0)))
    return y
