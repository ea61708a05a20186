"""newton_sqrt_cbrt in torch, any device, whole-tensor: frexp into a mantissa in [0.5, 2)
(square root) or [0.5, 4) (cube root) and an exponent the root divides exactly, a quadratic
start, a fixed count of Newton steps (quadratic convergence: no data-dependent stopping, no
host synchronisation), one last Newton step on the residual n - r^k computed exactly with
Dekker's product, then a multiplication by the exact power of two. Correctly rounded
square roots, faithful cube roots; subnormal and huge inputs stay exact (no r^2
overflow); zeros and infinities pass through with their sign. float32 inputs are
computed in float64 and rounded once."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from harness import implementation
from suites.newton_sqrt_cbrt import RootOptions, check

SPLIT = 134217729.0  # 2^27 + 1: Veltkamp's splitting constant for float64
SQRT_START = np.polyfit(np.linspace(0.5, 2, 64), np.sqrt(np.linspace(0.5, 2, 64)), 2).tolist()
CBRT_START = np.polyfit(np.linspace(0.5, 4, 64), np.cbrt(np.linspace(0.5, 4, 64)), 2).tolist()


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
    r = (SQRT_START[0] * m + SQRT_START[1]) * m + SQRT_START[2]
    for _ in range(3):
        r = 0.5 * (r + m / r)
    p, err = _product(r, r)
    r = r + ((m - p) - err) / (2.0 * r)  # within an ulp; the rounding decided exactly:
    up = torch.nextafter(r, torch.full_like(r, float("inf")))
    r = torch.where(_above(m, r, up), up, r)
    down = torch.nextafter(r, torch.full_like(r, 0.0))
    return torch.where(_above(m, down, r), r, down)


def _cbrt(m: Any) -> Any:
    r = (CBRT_START[0] * m + CBRT_START[1]) * m + CBRT_START[2]
    for _ in range(4):
        r = (2.0 * r + m / (r * r)) / 3.0
    p, err = _product(r, r)
    p3, err3 = _product(p, r)
    return r + (((m - p3) - err3) - err * r) / (3.0 * p)


@implementation(
    "newton_sqrt_cbrt",
    ("torch_cpu", "torch_cuda"),
    "newton",
    supports={"round4": ("none",), "root": ("sqrt", "cbrt"), "output": ("float",)},
)
def roots(n: Any, opts: RootOptions) -> Any:
    """frexp scaling, quadratic start, fixed Newton steps, one exact-residual step."""
    check(n, opts)
    x = n.abs().to(torch.float64)
    regular = torch.isfinite(x) & (x != 0)
    m, e = torch.frexp(torch.where(regular, x, 1.0))
    k = 2 if opts.root == "sqrt" else 3
    rem = torch.remainder(e, k)
    r = (_sqrt if k == 2 else _cbrt)(m * torch.exp2(rem.to(torch.float64)))
    out = torch.where(regular, r * torch.exp2(((e - rem) // k).to(torch.float64)), x)
    return torch.copysign(out, n.to(torch.float64)).to(n.dtype)
