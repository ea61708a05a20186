"""random_triangle_circle in pure Python, row by row: sort the three angles, take the
three differences and classify."""

from __future__ import annotations

from typing import Any

from harness import implementation
from suites.random_triangle_circle import ARGS, TriangleOptions


@implementation("random_triangle_circle", "python", "loops", max_flops=2e5)
def classify(angles: Any, opts: TriangleOptions) -> Any:
    """One sorted() and a few comparisons per row."""
    ARGS.check(angles)
    own = opts.special == "own_class"
    out = []
    for row in angles:
        a, b, c = sorted(float(v) for v in row)
        d1, d2, d3 = b - a, c - b, c - a
        if own and (d1 == 0.0 or d2 == 0.0):
            out.append(3)
        elif own and (d1 == 180.0 or d2 == 180.0 or d3 == 180.0):
            out.append(2)
        else:
            out.append(0 if d1 < 180.0 and d2 < 180.0 and d3 > 180.0 else 1)
    return out
