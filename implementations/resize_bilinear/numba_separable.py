"""resize_bilinear with Numba: one compiled two-pass kernel, plane by plane.

Each (H, W) plane is resized rows first (contiguous row sums into a per-plane buffer of
out_h rows), then columns, in the image's float dtype. uint8 runs through the float64
kernel on the exact integer weight numerators: every product and sum is an integer below
2**53, so it is exact, and the result rounds half up once afterwards (two compiled
signatures in all, float32 and float64).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from implementations.resize_bilinear._taps import integer_taps, taps
from suites.resize_bilinear import ResizeOptions, check_resize


@numba.njit(cache=False)
def _kernel(x: Any, iy: Any, wy: Any, ix: Any, wx: Any, out: Any) -> None:
    planes, _, width = x.shape
    oh, ky = iy.shape
    ow, kx = ix.shape
    for p in range(planes):
        tmp = np.empty((oh, width), dtype=wy.dtype)
        for r in range(oh):
            w0, row0 = wy[r, 0], iy[r, 0]
            for col in range(width):
                tmp[r, col] = w0 * x[p, row0, col]
            for k in range(1, ky):
                wk, rowk = wy[r, k], iy[r, k]
                for col in range(width):
                    tmp[r, col] += wk * x[p, rowk, col]
        for r in range(oh):
            for q in range(ow):
                acc = wx[q, 0] * tmp[r, ix[q, 0]]
                for k in range(1, kx):
                    acc += wx[q, k] * tmp[r, ix[q, k]]
                out[p, r, q] = acc


@implementation("resize_bilinear", "numba", "separable", supports={"uint8_arithmetic": ("exact",)})
def resize(image: Any, out_h: int, out_w: int, opts: ResizeOptions) -> Any:
    """Rows then columns per plane; uint8 on exact integer numerators in float64."""
    out_dtype = check_resize(image, out_h, out_w)
    n, c, h, w = image.shape
    if n * c == 0:
        return np.empty((n, c, out_h, out_w), dtype=out_dtype)
    work = np.float64 if out_dtype == np.uint8 else out_dtype
    x = np.ascontiguousarray(image, dtype=work).reshape(n * c, h, w)
    exact_u8 = out_dtype == np.uint8 and not opts.antialias
    if exact_u8:
        iy, ny, dy = integer_taps(h, out_h, opts)
        ix, nx, dx = integer_taps(w, out_w, opts)
        wy, wx = np.asarray(ny, dtype=work), np.asarray(nx, dtype=work)
    else:
        (iy, fy), (ix, fx) = taps(h, out_h, opts), taps(w, out_w, opts)
        wy, wx = np.asarray(fy, dtype=work), np.asarray(fx, dtype=work)
    out = np.empty((n * c, out_h, out_w), dtype=work)
    _kernel(x, np.asarray(iy, dtype=np.int64), wy, np.asarray(ix, dtype=np.int64), wx, out)
    if exact_u8:
        out = (2 * out.astype(np.int64) + dy * dx) // (2 * dy * dx)
    elif out_dtype == np.uint8:
        out = np.clip(np.floor(out + 0.5), 0, 255)
    return out.astype(out_dtype, copy=False).reshape(n, c, out_h, out_w)
