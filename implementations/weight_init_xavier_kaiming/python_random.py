"""weight_init_xavier_kaiming in pure Python: the random module, innermost lists refilled.

The nested lists are walked down to their innermost rows, and each row's slots are
overwritten in place with a comprehension over the bound method (no attribute lookups
per value). Draws are Python floats (53-bit doubles).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from harness import implementation
from suites.weight_init_xavier_kaiming import ARGS, InitOptions, spread


def _fill(rows: list[Any], depth: int, draw: Callable[[], float]) -> None:
    if depth == 1:
        rows[:] = [draw() for _ in rows]  # same list object: filled in place
        return
    for row in rows:
        _fill(row, depth - 1, draw)


def _shape(weight: list[Any]) -> list[int]:
    shape: list[int] = []
    level: Any = weight
    while isinstance(level, list):
        shape.append(len(level))
        level = level[0] if level else None
    return shape


@implementation(
    "weight_init_xavier_kaiming",
    "python",
    "random",
    max_flops=2.0 * 300_000,
    supports={"truncation": ("none",)},
)
def init(weight: Any, opts: InitOptions) -> None:
    """random.random()·2b - b or random.gauss(0, std), one comprehension per innermost row."""
    ARGS.check(weight)
    shape = _shape(weight)
    if 0 in shape:  # nothing to draw (an empty list does not even show its other sizes)
        return
    s = spread(shape, opts)
    if opts.scheme.endswith("uniform"):
        u = random.random
        draw: Callable[[], float] = lambda: (2.0 * u() - 1.0) * s  # noqa: E731
    else:
        g = random.gauss
        draw = lambda: g(0.0, s)  # noqa: E731
    _fill(weight, len(shape), draw)
