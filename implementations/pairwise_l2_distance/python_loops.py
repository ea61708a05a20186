"""pairwise_l2_distance in pure Python: a triple loop over pairs and coordinates.

Direct differences in Python floats (double precision), so identical points give exactly 0.
"""

from __future__ import annotations

import math
from typing import Any

from harness import implementation
from suites.pairwise_l2_distance import ARGS, L2Options


@implementation("pairwise_l2_distance", "python", "loops", max_flops=2e7)
def pairwise_l2_distance(a: Any, b: Any, opts: L2Options) -> list[list[float]]:
    """For each pair, sum the squared coordinate differences, then take the square root."""
    ARGS.check(a, b)
    out = []
    for row_a in a:
        out_row = []
        for row_b in b:
            total = 0.0
            for x, y in zip(row_a, row_b, strict=True):
                diff = x - y
                total += diff * diff
            out_row.append(total if opts.squared else math.sqrt(total))
        out.append(out_row)
    return out
