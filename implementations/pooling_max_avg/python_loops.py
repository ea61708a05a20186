"""pooling_max_avg in pure Python: per output, the window's in-range rows and columns as
precomputed index lists, then max() or sum() over them in Python floats."""

from __future__ import annotations

import math
from typing import Any

from harness import implementation
from suites.pooling_max_avg import ARGS, Axis, PoolOptions, pool_axes


def _taps(a: Axis) -> list[list[int]]:
    """For each output index, the in-range input indices its window reads."""
    return [[t for t in range(o * a.s - a.p, o * a.s - a.p + a.d * a.k, a.d) if 0 <= t < a.size]
            for o in range(a.out)]  # fmt: skip


def _max(values: list[float]) -> float:
    best = -math.inf
    for v in values:
        if v != v:
            return v
        if v > best:
            best = v
    return best


@implementation(
    "pooling_max_avg",
    "python",
    "loops",
    max_flops=3e6,  # ~0.5 s of loops
    expected_failures={
        "empty_channels": "plain lists cannot say shape (N, 0, H, W): [[], []] reads as (2, 0)"
    },
)
def pool(x: Any, opts: PoolOptions) -> list[Any]:
    """Index lists per axis, then one max/sum per output over the window's rows x columns."""
    ARGS.check(x)
    if not x or not x[0]:
        return [[] for _ in x]
    ah, aw = pool_axes((len(x), len(x[0]), len(x[0][0]), len(x[0][0][0])), opts)
    rows, cols = _taps(ah), _taps(aw)
    if opts.op == "max":
        return [[[[_max([plane[r][q] for r in rr for q in cc]) for cc in cols] for rr in rows]
                 for plane in img] for img in x]  # fmt: skip
    hc = [ah.counts(opts.count_include_pad)[o] for o in range(ah.out)]
    wc = [aw.counts(opts.count_include_pad)[o] for o in range(aw.out)]
    div = opts.divisor_override
    return [[[[sum(plane[r][q] for r in rr for q in cc) / (div or float(hn * wn))
               for cc, wn in zip(cols, wc, strict=True)] for rr, hn in zip(rows, hc, strict=True)]
             for plane in img] for img in x]  # fmt: skip
