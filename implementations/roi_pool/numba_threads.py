"""roi_pool with Numba: RoIs in GIL-free threads, integer bin geometry per RoI, SIMD over C.

The features are copied once to channels-last float64 (N, H, W, C). Each RoI's rounded
corners and clipped bin edges (bin size in the input's dtype, as torchvision) are computed
once; every cell of a bin then updates the bin's
C accumulators from C contiguous values, a loop the compiler vectorises. One float64
signature (read-only, C-contiguous) serves every input dtype, so it is compiled once; RoIs
are split in contiguous blocks over as many threads as Numba is allowed.
"""

from __future__ import annotations

import itertools
import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.roi_pool import FLT_MAX, RoiPoolOptions, check_rois


@numba.njit(cache=False)
def _edges(x1: float, x2: float, pooled: int, size: int, quant: int) -> Any:
    """(lo, hi) per bin, clipped to [0, size): C's round of the corners; quant 0: float64
    bin size, 1: float32 bin size (torchvision's rule in that dtype), 2: exact, 3: floor."""
    start = int(math.copysign(math.floor(abs(x1) + 0.5), x1))
    end = int(math.copysign(math.floor(abs(x2) + 0.5), x2))
    cells = max(end - start + 1, 1)
    lo, hi = np.empty(pooled, np.int64), np.empty(pooled, np.int64)
    b64 = np.float64(cells) / np.float64(pooled)
    b32 = np.float32(cells) / np.float32(pooled)
    for p in range(pooled):
        if quant == 3:
            a, b = p * (cells // pooled), (p + 1) * (cells // pooled)
        elif quant == 2:
            a, b = (p * cells) // pooled, -((-(p + 1) * cells) // pooled)
        elif quant == 1:  # float32 products: numba keeps float32 * float32 in float32
            a, b = math.floor(np.float32(p) * b32), math.ceil(np.float32(p + 1) * b32)
        else:
            a, b = math.floor(p * b64), math.ceil((p + 1) * b64)
        lo[p], hi[p] = min(max(a + start, 0), size), min(max(b + start, 0), size)
    return lo, hi


@numba.njit(cache=False)
def _one_roi(f: Any, r: Any, scale: float, mode: int, quant: int, out: Any) -> None:
    """mode 0: max (NaN propagates), 1: max torchvision (NaN skipped, >= -FLT_MAX), 2: avg.
    ``f`` is (N, H, W, C), ``out`` (ph, pw, C), zero on entry."""
    ph, pw, c = out.shape
    fb = f[int(r[0])]
    h_lo, h_hi = _edges(r[2] * scale, r[4] * scale, ph, f.shape[1], quant)
    w_lo, w_hi = _edges(r[1] * scale, r[3] * scale, pw, f.shape[2], quant)
    for p in range(ph):
        y0, y1 = h_lo[p], h_hi[p]
        for q in range(pw):
            x0, x1 = w_lo[q], w_hi[q]
            if y1 <= y0 or x1 <= x0:
                continue  # empty bin: out stays 0
            acc = out[p, q]
            if mode != 2:
                acc[:] = -FLT_MAX if mode == 1 else -np.inf
            for y in range(y0, y1):
                for x in range(x0, x1):
                    cell = fb[y, x]
                    for ch in range(c):  # contiguous channels: SIMD
                        v = cell[ch]
                        if mode == 2:
                            acc[ch] += v
                        elif v > acc[ch] or (mode == 0 and v != v):
                            acc[ch] = v  # a NaN is never greater, so under mode 0 it stays
            if mode == 2:
                for ch in range(c):
                    acc[ch] /= (y1 - y0) * (x1 - x0)


@numba.njit(nogil=True, cache=False)
def _kernel(f: Any, r: Any, scale: float, mode: int, quant: int, out: Any) -> None:
    for n in range(out.shape[0]):
        _one_roi(f, r[n], scale, mode, quant, out[n])


@implementation("roi_pool", "numba", "threads")
def roi_pool(features: Any, rois: Any, pooled_height: int, pooled_width: int,
             spatial_scale: float, opts: RoiPoolOptions) -> Any:  # fmt: skip
    """RoIs split in contiguous blocks over numba.get_num_threads() GIL-free threads."""
    dtype = check_rois(features, rois, pooled_height, pooled_width, spatial_scale)
    f = np.ascontiguousarray(np.moveaxis(np.asarray(features), 1, 3), dtype=np.float64).view()
    r = np.ascontiguousarray(rois, dtype=np.float64).view()
    f.flags.writeable = r.flags.writeable = False
    out = np.zeros((r.shape[0], pooled_height, pooled_width, f.shape[3]))
    if out.size:
        mode = 2 if opts.pool_mode == "avg" else int(opts.nan_policy == "torchvision")
        quant = {"floor_ceil_float": int(np.dtype(dtype) == np.float32), "floor_ceil_exact": 2}
        args = (float(spatial_scale), mode, quant.get(opts.quantisation, 3))
        threads = max(1, min(numba.get_num_threads(), r.shape[0] // 8))
        cuts = np.linspace(0, r.shape[0], threads + 1).astype(int)
        if threads == 1:
            _kernel(f, r, *args, out)
        else:
            with ThreadPoolExecutor(threads) as pool:
                jobs = [pool.submit(_kernel, f, r[a:b], *args, out[a:b])
                        for a, b in itertools.pairwise(cuts)]  # fmt: skip
                for job in jobs:
                    job.result()
    return np.ascontiguousarray(np.moveaxis(out, 3, 1), dtype=dtype)
