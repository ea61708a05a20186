"""resize_bicubic_lanczos with Numba: one compiled two-pass kernel, plane by plane.

Per (H, W) plane the horizontal pass runs first on the H input rows (K gathered taps per
output column, the scalar part), then each output row is K contiguous, vectorised
multiply-adds of those rows. When downscaling rows (out_h < H) the order flips: rows
first, so the gathers run on out_h rows. Float32 stays float32; uint8 runs in float64,
rounds half up once and saturates. Single-threaded, as the harness times one thread.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from implementations.resize_bicubic_lanczos._taps import taps
from suites.resize_bicubic_lanczos import ResizeCubicOptions, check_resize


@numba.njit(cache=False)
def _columns(src: Any, ix: Any, wx: Any, dst: Any) -> None:
    """dst[r, q] = sum_k wx[q, k]·src[r, ix[q, k]] for every row r."""
    for r in range(src.shape[0]):
        for q in range(ix.shape[0]):
            acc = wx[q, 0] * src[r, ix[q, 0]]
            for k in range(1, ix.shape[1]):
                acc += wx[q, k] * src[r, ix[q, k]]
            dst[r, q] = acc


@numba.njit(cache=False)
def _rows(src: Any, iy: Any, wy: Any, dst: Any) -> None:
    """dst[r, :] = sum_k wy[r, k]·src[iy[r, k], :] (contiguous rows: vectorised)."""
    width = src.shape[1]
    for r in range(iy.shape[0]):
        w0, row0 = wy[r, 0], iy[r, 0]
        for col in range(width):
            dst[r, col] = w0 * src[row0, col]
        for k in range(1, iy.shape[1]):
            wk, rowk = wy[r, k], iy[r, k]
            for col in range(width):
                dst[r, col] += wk * src[rowk, col]


@numba.njit(cache=False)
def _kernel(x: Any, iy: Any, wy: Any, ix: Any, wx: Any, out: Any, columns_first: bool) -> None:
    planes, h, w = x.shape
    oh, ow = out.shape[1], out.shape[2]
    tmp = np.empty((h, ow) if columns_first else (oh, w), dtype=out.dtype)
    for p in range(planes):
        if columns_first:
            _columns(x[p], ix, wx, tmp)
            _rows(tmp, iy, wy, out[p])
        else:
            _rows(x[p], iy, wy, tmp)
            _columns(tmp, ix, wx, out[p])


@implementation(
    "resize_bicubic_lanczos", "numba", "separable", supports={"uint8_arithmetic": ("exact",)}
)
def resize(image: Any, out_h: int, out_w: int, opts: ResizeCubicOptions) -> Any:
    """Gathered horizontal pass, then vectorised vertical pass, per plane (or the reverse)."""
    out_dtype = check_resize(image, out_h, out_w)
    n, c, h, w = image.shape
    if n * c == 0:
        return np.empty((n, c, out_h, out_w), dtype=out_dtype)
    work = np.float64 if out_dtype == np.uint8 else out_dtype
    x = np.ascontiguousarray(image, dtype=work).reshape(n * c, h, w)
    iy, fy = taps(h, out_h, opts.mode, opts.align_corners)
    ix, fx = taps(w, out_w, opts.mode, opts.align_corners)
    out = np.empty((n * c, out_h, out_w), dtype=work)
    _kernel(x, iy, fy.astype(work), ix, fx.astype(work), out, out_h > h)
    if out_dtype == np.uint8:
        out = np.clip(np.floor(out + 0.5), 0, 255)
    return out.astype(out_dtype, copy=False).reshape(n, c, out_h, out_w)
