"""newton_sqrt_cbrt in pure Python, value by value: frexp into a mantissa in [0.5, 2) or
[0.5, 4) and an exponent the root divides exactly, a linear start, Newton steps until the
iterate stops changing or starts to cycle between two neighbours (at most 8), then the
neighbour whose rounding interval holds the exact root, decided in exact rational
arithmetic on the few values the float test leaves in doubt. 4-figure rounding by the
decimal module on the root's exact decimal (Decimal(float) is exact); '.4g' strings by
format. Integer square roots by integer Newton from above (exact for ints of any size)."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal
from fractions import Fraction
from typing import Any

from harness import implementation
from suites.newton_sqrt_cbrt import RootOptions, check


def _nearest(r: float, m: float, k: int) -> float:
    """The float next to r (or r) whose rounding interval holds m^(1/k): midpoints are
    compared with m exactly (a root is never exactly a midpoint)."""
    fm = Fraction(m)
    while (Fraction(r) + Fraction(math.nextafter(r, math.inf))) ** k / 2**k < fm:
        r = math.nextafter(r, math.inf)
    while (Fraction(r) + Fraction(math.nextafter(r, 0.0))) ** k / 2**k > fm:
        r = math.nextafter(r, 0.0)
    return r


def _root(v: float, k: int) -> float:
    x = abs(v)
    if x == 0.0 or math.isinf(x):
        return v
    m, e = math.frexp(x)
    rem = e % k
    m = math.ldexp(m, rem)
    r = 0.6 + 0.4 * m if k == 2 else 0.75 + 0.22 * m
    seen = (0.0, 0.0)
    for _ in range(8):
        nxt = 0.5 * (r + m / r) if k == 2 else (2.0 * r + m / (r * r)) / 3.0
        if nxt in seen or nxt == r:
            break
        seen, r = (seen[1], r), nxt
    return math.copysign(math.ldexp(_nearest(r, m, k), (e - rem) // k), v)


def _isqrt(v: int) -> int:
    """floor(sqrt(v)) for an int v >= 0: Newton x <- (x + v // x) // 2 from a power of two
    at or above the root decreases until it stops, at the floor."""
    if v < 2:
        return v
    x = 1 << ((v.bit_length() + 1) // 2)
    while True:
        y = (x + v // x) // 2
        if y >= x:
            return x
        x = y


@implementation("newton_sqrt_cbrt", "python", "newton", max_flops=4e6)
def roots(n: Any, opts: RootOptions) -> Any:
    """Newton per value with an exact final choice; decimal 4-figure rounding."""
    check(n, opts)
    if opts.root == "isqrt":
        return [_isqrt(v) for v in n]
    k = 2 if opts.root == "sqrt" else 3
    out = [_root(v, k) for v in n]
    if opts.round4 != "none":
        mode = ROUND_HALF_UP if opts.round4 == "half_up" else ROUND_HALF_EVEN
        ctx = Context(prec=4, rounding=mode)
        out = [r if r == 0 or math.isinf(r) else float(ctx.plus(Decimal(r))) for r in out]
    return [format(r, ".4g") for r in out] if opts.output == "string4g" else out
