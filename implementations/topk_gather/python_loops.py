"""topk_gather in plain Python: heapq.nsmallest of (rank key, index) per line."""

from __future__ import annotations

import heapq
from typing import Any

from harness import implementation
from suites.topk_gather import TopkOptions, check, rank_key


@implementation("topk_gather", "python", "heapq", max_flops=2e6)
def topk(x: Any, k: int, dim: int, opts: TopkOptions) -> tuple[Any, Any]:
    """Lists of lists; each line's k best by heapq.nsmallest (O(n log k)), dim 0 transposed."""
    check(x, k, dim, opts)
    rows = [list(r) for r in x]
    lines = rows if int(dim) % 2 == 1 else [list(c) for c in zip(*rows, strict=True)]
    vals, idxs = [], []
    for line in lines:
        best = heapq.nsmallest(int(k), range(len(line)),
                               key=lambda i: rank_key(line[i], i, opts.largest))  # fmt: skip
        idxs.append(best)
        vals.append([line[i] for i in best])
    if int(dim) % 2 == 0:
        vals = [list(c) for c in zip(*vals, strict=True)] if vals else []
        idxs = [list(c) for c in zip(*idxs, strict=True)] if idxs else []
    return vals, idxs
