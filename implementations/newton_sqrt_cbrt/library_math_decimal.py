"""newton_sqrt_cbrt through the standard library: math.sqrt (correctly rounded) and
math.cbrt per value, then decimal's 4-figure rounding of the root's exact decimal
(ROUND_HALF_UP or ROUND_HALF_EVEN at a precision of 4 digits), format(r, '.4g') for strings,
math.isqrt for integer square roots."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal
from typing import Any

from harness import implementation
from suites.newton_sqrt_cbrt import RootOptions, check

TIES = (
    "math.cbrt (the C library's cbrt) misses exact roots of perfect cubes by an ulp"
    " (cbrt(1.0625**3) < 1.0625), so 4-figure ties round the other way"
)


@implementation(
    "newton_sqrt_cbrt",
    "library",
    "math_decimal",
    arrays="python",
    max_flops=4e6,
    expected_failures={"cbrt_ties_up": TIES, "cbrt_ties_even": TIES},
)
def roots(n: Any, opts: RootOptions) -> Any:
    """math.sqrt / math.cbrt, then Context(prec=4).plus(Decimal(root)); math.isqrt."""
    check(n, opts)
    if opts.root == "isqrt":
        return [math.isqrt(v) for v in n]
    out = [(math.sqrt if opts.root == "sqrt" else math.cbrt)(v) for v in n]
    if opts.round4 != "none":
        mode = ROUND_HALF_UP if opts.round4 == "half_up" else ROUND_HALF_EVEN
        ctx = Context(prec=4, rounding=mode)
        out = [r if r == 0 or math.isinf(r) else float(ctx.plus(Decimal(r))) for r in out]
    return [format(r, ".4g") for r in out] if opts.output == "string4g" else out
