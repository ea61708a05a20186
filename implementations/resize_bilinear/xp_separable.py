"""resize_bilinear through the array API: two separable gather-and-weight passes (NumPy, CuPy).

Rows first (whole contiguous rows are gathered), then columns; each pass is K gathers and
K multiply-adds in the image's float dtype. uint8 runs in int64 on the exact integer
weights (numerators over a common denominator per axis) and rounds half up once.
"""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace, device

from harness import implementation
from implementations.resize_bilinear._taps import integer_taps, taps
from suites.resize_bilinear import ResizeOptions, check_resize


def _pass(xp: Any, x: Any, idx: list[list[int]], w: list[list[Any]], axis: int) -> Any:
    """Sum over k of take(x, idx[:, k], axis) * w[:, k], broadcast along ``axis``."""
    dev = device(x)
    shape = (-1, 1) if axis == 2 else (-1,)
    acc = None
    for k in range(len(idx[0]) if idx else 0):
        ik = xp.asarray([row[k] for row in idx], dtype=xp.int64, device=dev)
        wk = xp.reshape(xp.asarray([row[k] for row in w], dtype=x.dtype, device=dev), shape)
        term = xp.take(x, ik, axis=axis) * wk
        acc = term if acc is None else acc + term
    return acc


@implementation(
    "resize_bilinear",
    ("numpy", "cupy"),  # torch has its own file: index_select along W is slow there
    "separable",
    supports={"uint8_arithmetic": ("exact",)},
)
def resize(image: Any, out_h: int, out_w: int, opts: ResizeOptions) -> Any:
    """Vertical pass (gathers rows) then horizontal pass; uint8 rounds half up once."""
    out_dtype, xp = check_resize(image, out_h, out_w), array_namespace(image)
    n, c, h, w = image.shape
    if n * c == 0:
        return xp.empty((n, c, out_h, out_w), dtype=out_dtype, device=device(image))
    if out_dtype == xp.uint8 and not opts.antialias:
        iy, ny, dy = integer_taps(h, out_h, opts)
        ix, nx, dx = integer_taps(w, out_w, opts)
        rows = _pass(xp, xp.astype(image, xp.int64), iy, ny, axis=2)
        v = _pass(xp, rows, ix, nx, axis=3)
        return xp.astype((2 * v + dy * dx) // (2 * dy * dx), xp.uint8)
    is_u8 = out_dtype == xp.uint8  # antialiased uint8: float64 weights, one rounding
    x = xp.astype(image, xp.float64 if is_u8 else out_dtype, copy=False)
    rows = _pass(xp, x, *taps(h, out_h, opts), axis=2)
    out = _pass(xp, rows, *taps(w, out_w, opts), axis=3)
    if is_u8:
        return xp.astype(xp.clip(xp.floor(out + 0.5), 0, 255), xp.uint8)
    return out
