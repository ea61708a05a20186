"""gat_layer in CuPy: one cuBLAS GEMM for all heads, two per-node score vectors, the edge
softmax with cupy.maximum.at / cupy.add.at by target (atomics), and the weighted messages
added into the targets' rows with cupy.add.at, in the input dtype.
"""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.gat_layer import GatOptions, check


@implementation("gat_layer", "cupy", "add_at", supports={"adjacency": ("edge_list",)})
def gat(x: Any, edge_index: Any, weight: Any, att_src: Any, att_dst: Any, opts: GatOptions) -> Any:
    """GEMM; per-node scores; maximum.at, exp, add.at sums and messages."""
    dtype = check(x, edge_index, weight, att_src, att_dst, opts)
    n, (f, h, c) = x.shape[0], weight.shape
    z = (x @ weight.reshape(f, h * c)).reshape(n, h, c)
    s_src, s_dst = (z * att_src).sum(-1), (z * att_dst).sum(-1)
    src, dst = edge_index[0], edge_index[1]
    if opts.multi_edges == "once":
        keep = cp.sort(cp.unique(dst * n + src, return_index=True)[1])
        src, dst = src[keep], dst[keep]
    if opts.self_loops == "replace":
        keep = src != dst
        nodes = cp.arange(n)
        src, dst = cp.concatenate([src[keep], nodes]), cp.concatenate([dst[keep], nodes])
    out = cp.zeros((n, h, c), dtype=dtype)
    if src.shape[0] and h and c:
        e = s_src[src] + s_dst[dst]
        e = cp.where(e > 0, e, e * dtype.type(opts.negative_slope))
        m = cp.full((n, h), -cp.inf, dtype=dtype)
        cp.maximum.at(m, dst, e)
        p = cp.exp(e - m[dst])
        denom = cp.zeros((n, h), dtype=dtype)
        cp.add.at(denom, dst, p)
        cp.add.at(out, dst, (p / denom[dst])[:, :, None] * z[src])
    y = out.reshape(n, h * c) if opts.heads == "concat" else out.mean(axis=1)
    if opts.activation == "elu":
        y = cp.where(y > 0, y, cp.expm1(cp.minimum(y, 0)))
    return y
