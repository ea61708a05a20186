"""newton_sqrt_cbrt in Numba, one compiled pass per value: frexp into a mantissa in [0.5, 2)
(square root) or [0.5, 4) (cube root) and an exponent the root divides exactly, a quadratic
start, a fixed count of Newton steps (quadratic convergence from the start's error), one
last step on the residual n - r^k computed exactly with Dekker's product (no fused
multiply-add: Numba keeps IEEE order without fastmath), then ldexp back. Correctly rounded
square roots, faithful cube roots; subnormal and huge inputs stay exact; zeros and
infinities pass through with their sign. Integer square roots: the float64 root of
float64(n), truncated, is within one of floor(√n) for every int64 n; one exact integer
correction each way, tested by division (no r^2 overflow). No '.4g' strings (Numba has no
correctly rounded decimal formatting): refused as unsupported."""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.newton_sqrt_cbrt import RootOptions, check

SPLIT = 134217729.0  # 2^27 + 1: Veltkamp's splitting constant for float64
S2, S1, S0 = np.polyfit(np.linspace(0.5, 2, 64), np.sqrt(np.linspace(0.5, 2, 64)), 2)
C2, C1, C0 = np.polyfit(np.linspace(0.5, 4, 64), np.cbrt(np.linspace(0.5, 4, 64)), 2)


@numba.njit(cache=False, inline="always")
def _product(a: float, b: float) -> tuple[float, float]:
    p = a * b
    c = SPLIT * a
    ah = c - (c - a)
    al = a - ah
    c = SPLIT * b
    bh = c - (c - b)
    bl = b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


@numba.njit(cache=False, inline="always")
def _above(m: float, a: float, b: float) -> bool:
    """sqrt(m) > (a + b) / 2 for neighbours a < b, exactly: m - a*b is a multiple of
    ulp(a) ulp(b) > ((b - a) / 2)^2, so the test is m > a*b = p + err (Dekker), i.e.
    m - p > err with m - p exact (Sterbenz)."""
    p, err = _product(a, b)
    return (m - p) > err


@numba.njit(cache=False)
def _roots(n: Any, out: Any, k: int) -> None:
    for i in range(n.size):
        v = float(n[i])
        x = abs(v)
        if x == 0.0 or not math.isfinite(x):
            out[i] = v
            continue
        m, e = math.frexp(x)
        rem = e % k
        m = math.ldexp(m, rem)
        if k == 2:
            r = (S2 * m + S1) * m + S0
            for _ in range(3):
                r = 0.5 * (r + m / r)
            p, err = _product(r, r)
            r = r + ((m - p) - err) / (2.0 * r)  # within an ulp; now round exactly:
            up = np.nextafter(r, np.inf)
            if _above(m, r, up):
                r = up
            down = np.nextafter(r, 0.0)
            if not _above(m, down, r):
                r = down
        else:
            r = (C2 * m + C1) * m + C0
            for _ in range(4):
                r = (2.0 * r + m / (r * r)) / 3.0
            p, err = _product(r, r)
            p3, err3 = _product(p, r)
            r = r + (((m - p3) - err3) - err * r) / (3.0 * p)
        out[i] = math.copysign(math.ldexp(r, (e - rem) // k), v)


@numba.njit(cache=False)
def _isqrt(n: Any, out: Any) -> None:
    for i in range(n.size):
        v = n[i]
        r = np.int64(min(math.sqrt(float(v)), 3037000499.0))
        if r > 0 and r > v // r:  # r^2 > v
            r -= 1
        if r + 1 <= v // (r + 1):  # (r + 1)^2 <= v
            r += 1
        out[i] = r


@implementation(
    "newton_sqrt_cbrt", "numba", "newton", supports={"round4": ("none",), "output": ("float",)}
)
def roots(n: Any, opts: RootOptions) -> Any:
    """One compiled loop: frexp scaling, Newton steps, one exact-residual step."""
    check(n, opts)
    if opts.root == "isqrt":
        result = np.empty(n.shape, dtype=np.int64)
        _isqrt(n.astype(np.int64), result)
        return result
    out = np.empty(n.shape, dtype=np.float64)
    _roots(n, out, 2 if opts.root == "sqrt" else 3)
    return out.astype(n.dtype)
