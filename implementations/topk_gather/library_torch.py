"""torch.topk, the library reference; under stable_lower_index (torch.topk gives no index
order among ties) torch.sort(stable=True) and its first k."""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.topk_gather import TopkOptions, check


@implementation("topk_gather", "library", "torch", arrays="torch_cpu", requires=("torch",))
def topk(x: Any, k: int, dim: int, opts: TopkOptions) -> tuple[Any, Any]:
    """torch.topk(x, k, dim, largest, sorted), or the first k of a stable torch.sort."""
    check(x, k, dim, opts)
    if opts.tie_break == "stable_lower_index":
        ranked = torch.sort(x, dim=int(dim), descending=opts.largest, stable=True)
        return (ranked.values.narrow(int(dim), 0, int(k)).clone(),
                ranked.indices.narrow(int(dim), 0, int(k)).clone())  # fmt: skip
    out = torch.topk(x, int(k), dim=int(dim), largest=opts.largest, sorted=opts.sorted)
    return out.values, out.indices
