"""gat_layer in torch (CPU and CUDA, one code): one GEMM for all heads, two per-node score
vectors, the edge softmax with scatter_reduce (amax) and index_add_ (sums) by target, and
the weighted messages index_add_-ed into the targets' rows, in the input dtype. A dense or
sparse COO count matrix is read as its nonzero entries, each term's exp weighed by its count.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.gat_layer import GatOptions, check


@implementation("gat_layer", ("torch_cpu", "torch_cuda"), "scatter_softmax")
def gat(x: Any, edge_index: Any, weight: Any, att_src: Any, att_dst: Any, opts: GatOptions) -> Any:
    """X·W once; per-node scores; scatter amax, exp, index_add_ sums and messages."""
    check(x, edge_index, weight, att_src, att_dst, opts)
    n, (f, h, c), dev = x.shape[0], weight.shape, x.device
    z = (x @ weight.reshape(f, h * c)).view(n, h, c)
    s_src, s_dst = (z * att_src).sum(-1), (z * att_dst).sum(-1)
    mult = None  # an edge list: one term per edge
    if opts.adjacency == "edge_list":
        src, dst = edge_index[0], edge_index[1]
    else:  # A[target, source], dense or sparse COO: nonzero entries are multiplicities
        if edge_index.layout == torch.strided:
            dst, src = edge_index.nonzero(as_tuple=True)
            mult = edge_index[dst, src]
        else:
            a = edge_index.coalesce()
            (dst, src), mult = a.indices(), a.values()
            keep = mult != 0
            src, dst, mult = src[keep], dst[keep], mult[keep]
        mult = None if opts.multi_edges == "once" else mult.to(z.dtype)
    if opts.multi_edges == "once" and opts.adjacency == "edge_list":
        e0 = src.shape[0]
        keys, inverse = torch.unique(dst * n + src, return_inverse=True)
        pos = torch.arange(e0, device=dev)
        first = torch.full_like(keys, e0).scatter_reduce_(0, inverse, pos, "amin")
        keep = torch.sort(first).values
        src, dst = src[keep], dst[keep]
    if opts.self_loops == "replace":
        keep = src != dst
        nodes = torch.arange(n, device=dev)
        src, dst = torch.cat([src[keep], nodes]), torch.cat([dst[keep], nodes])
        if mult is not None:
            mult = torch.cat([mult[keep], torch.ones(n, dtype=mult.dtype, device=dev)])
    e = F.leaky_relu(s_src[src] + s_dst[dst], opts.negative_slope)
    index = dst[:, None].expand(-1, h)
    m = torch.full((n, h), -torch.inf, dtype=e.dtype, device=dev)
    m = m.scatter_reduce_(0, index, e, "amax")
    p = torch.exp(e - m[dst])
    if mult is not None:
        p = p * mult[:, None]
    alpha = p / torch.zeros_like(m).index_add_(0, dst, p)[dst]
    out = torch.zeros_like(z).index_add_(0, dst, alpha[:, :, None] * z[src])
    y = out.reshape(n, h * c) if opts.heads == "concat" else out.mean(dim=1)
    return F.elu(y) if opts.activation == "elu" else y
