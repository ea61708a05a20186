"""torch.gather, the library reference of gather (it refuses out-of-range and negative indices
itself; the suite's check runs first for the one-line message)."""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.topk_gather import gather_check


@implementation(
    "topk_gather.gather", "library", "torch_gather", arrays="torch_cpu", requires=("torch",)
)
def gather(x: Any, dim: int, index: Any) -> Any:
    """torch.gather(x, dim, index) with an int64 index."""
    gather_check(x, dim, index)
    return torch.gather(x, int(dim), index.long())
