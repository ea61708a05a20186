"""pairwise_l2_distance in pure Python: a triple loop over pairs and coordinates.

Direct differences in Python floats (double precision), so identical points give exactly 0.
"""

from __future__ import annotations

import math
from typing import Any

from harness import implementation
from suites.pairwise_l2_distance import check_shapes


def _shape(points: Any, name: str) -> tuple[int | None, ...]:
    """Shape of a nested list of floats; an empty outer list is (0, D) with D unknown."""
    if not isinstance(points, list):
        return ()
    if not points:
        return (0, None)
    if not isinstance(points[0], list):
        return (len(points),)
    if points[0] and isinstance(points[0][0], list):
        return (len(points), len(points[0]), -1)  # 3-D or deeper: rejected by check_shapes
    for row in points:
        if not all(isinstance(v, float) for v in row):
            raise TypeError(f"{name} must have a floating dtype, got non-float values")
    return (len(points), len(points[0]))


@implementation(
    "pairwise_l2_distance", "python", "loops", supports={"squared": (False, True)}, max_flops=2e7
)
def pairwise_l2_distance(a: Any, b: Any, *, squared: bool = False) -> Any:
    """For each pair, sum the squared coordinate differences, then take the square root."""
    check_shapes(_shape(a, "a"), _shape(b, "b"))
    out = []
    for row_a in a:
        out_row = []
        for row_b in b:
            total = 0.0
            for x, y in zip(row_a, row_b, strict=True):
                diff = x - y
                total += diff * diff
            out_row.append(total if squared else math.sqrt(total))
        out.append(out_row)
    return out
