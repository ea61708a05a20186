"""random_triangle_circle through the array API, branch-free on whole columns (any device):
a three-element sorting network of minima and maxima in float64, the three differences,
then the class as integer arithmetic on the comparison masks (no per-row sort, no select
chain)."""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace

from harness import implementation
from suites.random_triangle_circle import ARGS, TriangleOptions


@implementation("random_triangle_circle", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "network")
def classify(angles: Any, opts: TriangleOptions) -> Any:
    """Sort each row by compare-exchange, classify from d1 = b - a, d2 = c - b, d3 = c - a."""
    ARGS.check(angles)
    xp = array_namespace(angles)
    x = xp.astype(angles, xp.float64)
    x0, x1, x2 = x[:, 0], x[:, 1], x[:, 2]
    lo, hi = xp.minimum(x0, x1), xp.maximum(x0, x1)
    c, mid = xp.maximum(hi, x2), xp.minimum(hi, x2)
    a, b = xp.minimum(lo, mid), xp.maximum(lo, mid)
    d1, d2, d3 = b - a, c - b, c - a
    not_acute = (d1 >= 180) | (d2 >= 180) | (d3 <= 180)
    out = xp.astype(not_acute, xp.int8)
    if opts.special == "own_class":
        right = (d1 == 180) | (d2 == 180) | (d3 == 180)
        degenerate = (d1 == 0) | (d2 == 0)
        # 1 + right for a right triangle (never acute), 3 where degenerate
        out = xp.where(degenerate, xp.asarray(3, dtype=xp.int8), out + xp.astype(right, xp.int8))
    return out
