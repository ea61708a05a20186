"""newton_sqrt_cbrt in NumPy, whole-array: each value split by frexp into a mantissa in
[0.5, 2) (square root) or [0.5, 4) (cube root) and a power of two whose exponent the root
halves or thirds exactly; a quadratic start on the mantissa, a fixed count of Newton steps
(quadratic convergence: the count that reaches full precision from the start's error, no
data-dependent stopping), then one last Newton step on the residual n - r^k computed
exactly with Dekker's product (Veltkamp split, no fused multiply-add needed), which leaves
the square root correctly rounded and the cube root faithful. Scaling by powers of two
keeps subnormal and huge inputs exact (no r^2 overflow); zeros and infinities pass
through with their sign. float32 inputs are computed in float64 and rounded once. '.4g'
strings by format per value (NumPy has no correctly rounded decimal formatting of its own).
Integer square roots: the float64 root of float64(n), truncated, is within one of
floor(√n) for every int64 n (float64(n) is off by 2^-53 relatively, the root by half
that: under 4e-7 absolute below 2^31.5), then one exact integer correction each way,
tested by division (r > n // r), which cannot overflow as r^2 could."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.newton_sqrt_cbrt import RootOptions, check

SPLIT = 134217729.0  # 2^27 + 1: Veltkamp's splitting constant for float64
SQRT_START = np.polyfit(np.linspace(0.5, 2, 64), np.sqrt(np.linspace(0.5, 2, 64)), 2)
CBRT_START = np.polyfit(np.linspace(0.5, 4, 64), np.cbrt(np.linspace(0.5, 4, 64)), 2)


def _product(a: Any, b: Any) -> tuple[Any, Any]:
    """a * b = p + err exactly (Dekker)."""
    p = a * b
    c = SPLIT * a
    ah = c - (c - a)
    al = a - ah
    c = SPLIT * b
    bh = c - (c - b)
    bl = b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _above(m: Any, a: Any, b: Any) -> Any:
    """sqrt(m) > (a + b) / 2 for neighbours a < b, exactly: the midpoint's square is a*b +
    ((b - a) / 2)^2, and m - a*b is a multiple of ulp(a) ulp(b) > ((b - a) / 2)^2, so the
    test is m > a*b = p + err (Dekker), i.e. m - p > err with m - p exact (Sterbenz)."""
    p, err = _product(a, b)
    return (m - p) > err


def _sqrt(m: Any) -> Any:
    r = (SQRT_START[0] * m + SQRT_START[1]) * m + SQRT_START[2]  # ~1% off
    for _ in range(3):  # 1e-2 -> 5e-5 -> 1e-9 -> 6e-19
        r = 0.5 * (r + m / r)
    p, err = _product(r, r)
    r = r + ((m - p) - err) / (2.0 * r)  # within an ulp; the rounding decided exactly:
    up = np.nextafter(r, np.inf)
    r = np.where(_above(m, r, up), up, r)
    down = np.nextafter(r, 0.0)
    return np.where(_above(m, down, r), r, down)


def _cbrt(m: Any) -> Any:
    r = (CBRT_START[0] * m + CBRT_START[1]) * m + CBRT_START[2]  # ~3% off
    for _ in range(4):
        r = (2.0 * r + m / (r * r)) / 3.0
    p, err = _product(r, r)
    p3, err3 = _product(p, r)
    return r + (((m - p3) - err3) - err * r) / (3.0 * p)


def _isqrt(n: Any) -> Any:
    r = np.minimum(np.sqrt(n.astype(np.float64)), 3037000499.0).astype(np.int64)
    safe = np.maximum(r, 1)
    r = np.where(r > n // safe, r - 1, r)  # r^2 > n
    up = r + 1
    return np.where(up <= n // up, up, r)  # (r + 1)^2 <= n


@implementation("newton_sqrt_cbrt", "numpy", "newton", supports={"round4": ("none",)})
def roots(n: Any, opts: RootOptions) -> Any:
    """frexp scaling, quadratic start, fixed Newton steps, one exact-residual step."""
    check(n, opts)
    if opts.root == "isqrt":
        return _isqrt(n)
    out = _roots(n, opts)
    if opts.output == "string4g":
        return np.array([format(r, ".4g") for r in out.tolist()], dtype=np.str_)
    return out


def _roots(n: Any, opts: RootOptions) -> Any:
    x = np.abs(n).astype(np.float64)
    regular = np.isfinite(x) & (x != 0)
    m, e = np.frexp(np.where(regular, x, 1.0))
    k = 2 if opts.root == "sqrt" else 3
    rem = e % k  # the exponent's remainder moves into the mantissa
    r = (_sqrt if k == 2 else _cbrt)(np.ldexp(m, rem))
    out = np.where(regular, np.ldexp(r, (e - rem) // k), x)
    return np.copysign(out, n).astype(n.dtype)
