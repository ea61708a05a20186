"""gat_layer through torch-geometric's GATConv(bias=False, dropout=0): the suite's weight
copied into lin.weight as its (H·C, F) transpose, att_src/att_dst into the (1, H, C)
parameters; GATConv drops existing self-loops and adds one per node (add_self_loops=True)
and treats every repeated edge as its own softmax term. ELU, when asked, is applied after.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
import torch_geometric

from harness import implementation
from suites.gat_layer import GatOptions, check


@implementation(
    "gat_layer",
    "library",
    "torch_geometric",
    arrays="torch_cpu",
    requires=("torch_geometric",),
    supports={"multi_edges": ("each",), "adjacency": ("edge_list",)},
    expected_failures={
        "no_features": "in_channels=0 means a lazily initialised Linear in torch-geometric",
        "no_heads": "GATConv cannot reshape an empty projection into (-1, 0, C)",
        "no_head_width": "GATConv cannot reshape an empty projection into (-1, H, 0)",
        "no_head_width_mean": "GATConv cannot reshape an empty projection into (-1, H, 0)",
    },
)
def gat(x: Any, edge_index: Any, weight: Any, att_src: Any, att_dst: Any, opts: GatOptions) -> Any:
    """GATConv(F, C, heads=H, concat=..., negative_slope=..., add_self_loops=..., bias=False)."""
    check(x, edge_index, weight, att_src, att_dst, opts)
    f, h, c = weight.shape
    loops, concat = opts.self_loops == "replace", opts.heads == "concat"
    conv = torch_geometric.nn.GATConv(
        f,
        c,
        heads=h,
        concat=concat,
        dropout=0.0,
        bias=False,
        negative_slope=opts.negative_slope,
        add_self_loops=loops,
    )
    conv = conv.to(device=x.device, dtype=x.dtype).eval()
    with torch.no_grad():
        conv.lin.weight.copy_(weight.reshape(f, h * c).T)
        conv.att_src.copy_(att_src[None])
        conv.att_dst.copy_(att_dst[None])
        out = conv(x, edge_index)
    return F.elu(out) if opts.activation == "elu" else out
