"""gather in plain Python: nested list comprehensions, the dim coordinate read from index."""

from __future__ import annotations

from typing import Any

from harness import implementation
from suites.topk_gather import gather_check


@implementation(
    "topk_gather.gather",
    "python",
    "gather_loops",
    max_flops=2e5,
    expected_failures={
        "gather_no_i": "a nested list cannot carry the trailing dims of an empty array",
        "gather_no_j": "a nested list cannot carry the trailing dims of an empty array",
        "gather_no_k": "a nested list cannot carry the trailing dims of an empty array",
        "gather_from_empty_dim": "a nested list cannot carry the trailing dims of an empty array",
    },
)
def gather(x: Any, dim: int, index: Any) -> Any:
    """One comprehension per dim: the index entry picks along dim, its position the rest."""
    axis = gather_check(x, dim, index)
    if axis == 0:
        return [[[x[t][j][k] for k, t in enumerate(row)] for j, row in enumerate(plane)]
                for plane in index]  # fmt: skip
    if axis == 1:
        return [[[x[i][t][k] for k, t in enumerate(row)] for row in plane]
                for i, plane in enumerate(index)]  # fmt: skip
    return [[[x[i][j][t] for t in row] for j, row in enumerate(plane)]
            for i, plane in enumerate(index)]  # fmt: skip
