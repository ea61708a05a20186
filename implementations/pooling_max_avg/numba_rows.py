"""pooling_max_avg in Numba, row-separable and cache-friendly: for each output row, the
k_h input rows its windows cover are reduced element-wise into one contiguous row buffer
(long unit-stride loops that LLVM vectorises), then each output reads k_w entries of that
buffer. No padded copy of the input: the buffer row carries the -inf / 0 padding on both
sides, and tap rows outside the input are skipped.

Max keeps NaN (a NaN tap wins and stays); avg divides by the suite's divisor table.
Single-threaded (the harness times one thread); read-only views share one signature.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.pooling_max_avg import ARGS, PoolOptions, divisors, pool_axes


@numba.njit(cache=False)
def _pool(x: Any, geo: Any, is_max: bool, div: Any, out: Any) -> None:
    """x (P, H, W) planes; geo = (k_h, s_h, p_h, d_h, k_w, s_w, p_w, d_w, W_buf)."""
    kh, sh, ph, dh, kw, sw, pw, dw, wb = geo
    planes, h, w = x.shape
    oh, ow = out.shape[1], out.shape[2]
    fill = -np.inf if is_max else 0.0
    buf = np.full(wb, fill, dtype=x.dtype)
    for p in range(planes):
        for y in range(oh):
            row = buf[pw : pw + w]
            row[:] = fill
            for i in range(kh):
                r = y * sh - ph + i * dh
                if r < 0 or r >= h:
                    continue
                src = x[p, r]
                if is_max:
                    for q in range(w):
                        v = src[q]
                        a = row[q]
                        row[q] = v if (v > a or v != v) else a
                else:
                    for q in range(w):
                        row[q] += src[q]
            dst = out[p, y]
            for q in range(ow):
                base = q * sw
                if is_max:
                    a = buf[base]
                    for j in range(1, kw):
                        v = buf[base + j * dw]
                        a = v if (v > a or v != v) else a
                    dst[q] = a
                else:
                    a = buf[base]
                    for j in range(1, kw):
                        a += buf[base + j * dw]
                    dst[q] = a / div[y, q]


@implementation("pooling_max_avg", "numba", "rows")
def pool(x: Any, opts: PoolOptions) -> Any:
    """Geometry and divisors in NumPy, then the compiled row-buffer loop over the planes."""
    dtype = ARGS.check(x)
    ah, aw = pool_axes(x.shape, opts)
    n, c = x.shape[:2]
    out = np.empty((n * c, ah.out, aw.out), dtype=dtype)
    if out.size:
        wb = max((aw.out - 1) * aw.s + aw.d * (aw.k - 1) + 1, aw.size + 2 * aw.p)
        geo = np.array([ah.k, ah.s, ah.p, ah.d, aw.k, aw.s, aw.p, aw.d, wb], dtype=np.int64)
        planes = np.ascontiguousarray(x, dtype=dtype).reshape(n * c, ah.size, aw.size).view()
        planes.flags.writeable = False  # a view: one signature for read-only and fresh inputs
        div = divisors(ah, aw, opts).astype(dtype) if opts.op == "avg" else np.ones((1, 1), dtype)
        _pool(planes, geo, opts.op == "max", div, out)
    return out.reshape(n, c, ah.out, aw.out)
