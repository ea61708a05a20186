"""gcn_layer through torch-geometric's GCNConv: normalize=True, bias=False, the suite's W
copied into lin.weight as Wᵀ (Linear stores (Fo, F)), the bias added after. GCNConv sums
duplicate edges, and add_self_loops=True is add_remaining_self_loops (fill value 1, an
existing loop keeps its weight); it has no row normalisation nor first-of-duplicates rule.
"""

from __future__ import annotations

from typing import Any

import torch
import torch_geometric

from harness import implementation
from suites.gcn_layer import GcnOptions, check


@implementation(
    "gcn_layer",
    "library",
    "torch_geometric",
    arrays="torch_cpu",
    requires=("torch_geometric",),
    supports={
        "normalization": ("symmetric",),
        "self_loops": ("add_remaining", "none"),
        "duplicates": ("sum",),
        "adjacency": ("edge_list",),
    },
    expected_failures={
        "duplicate_self_loops": "add_remaining_self_loops keeps one of a node's repeated "
        "self-loops instead of their sum",
        "no_features": "in_channels=0 means a lazily initialised Linear in torch-geometric",
    },
)
def gcn(x: Any, edge_index: Any, edge_weight: Any, weight: Any, bias: Any, opts: GcnOptions) -> Any:
    """GCNConv(F, Fo, normalize=True, add_self_loops=..., bias=False), lin.weight = Wᵀ."""
    check(x, edge_index, edge_weight, weight, bias, opts)
    f, fo = weight.shape
    conv = torch_geometric.nn.GCNConv(
        f, fo, add_self_loops=opts.self_loops != "none", normalize=True, bias=False
    )
    conv = conv.to(device=x.device, dtype=x.dtype)
    with torch.no_grad():
        conv.lin.weight.copy_(weight.T)
        out = conv(x, edge_index, edge_weight)
    return out if bias is None else out + bias
