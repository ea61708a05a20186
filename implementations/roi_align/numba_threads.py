"""roi_align with Numba: RoIs in parallel threads, bilinear weights precomputed per RoI and axis.

The features are copied once to channels-last float64 (N, H, W, C). For each RoI the y and x
samples' corner indices and weights are computed once (Detectron's border rule folded into
the weights); each sample then adds four weighted corner rows of C contiguous values to its
bin's accumulator, a loop the compiler vectorises. The kernel releases the GIL, and RoIs are
split in contiguous blocks over as many threads as Numba is allowed (cheaper to compile than
a prange loop: one float64 signature, compiled once, serves float32 inputs too).
"""

from __future__ import annotations

import itertools
import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.roi_align import RoiAlignOptions, check_rois


@numba.njit(cache=False)
def _axis(start: float, bin_size: float, pooled: int, grid: int, size: int, dtype: Any) -> Any:
    """Per sample (bin-major): low index, high index, weight of low, weight of high."""
    count = pooled * grid
    lo, hi = np.zeros(count, np.int64), np.zeros(count, np.int64)
    w_lo, w_hi = np.zeros(count, dtype), np.zeros(count, dtype)
    for p in range(pooled):
        for i in range(grid):
            s = p * grid + i
            coord = start + p * bin_size + (i + 0.5) * bin_size / grid
            if coord < -1.0 or coord > size:
                continue  # no contribution: weights stay 0
            coord = max(coord, 0.0)
            low = int(coord)
            if low >= size - 1:
                lo[s], hi[s], w_lo[s] = size - 1, size - 1, 1.0
            else:
                frac = coord - low
                lo[s], hi[s], w_lo[s], w_hi[s] = low, low + 1, 1.0 - frac, frac
    return lo, hi, w_lo, w_hi


@numba.njit(cache=False)
def _one_roi(f: Any, r: Any, scale: float, sr: int, aligned: bool, maxmode: bool, out: Any) -> None:
    """One RoI's (ph, pw, C) bins into ``out`` (zero on entry); ``f`` is (N, H, W, C)."""
    ph, pw, c = out.shape
    h, w = f.shape[1], f.shape[2]
    off = 0.5 if aligned else 0.0
    b = int(r[0])
    x1, y1 = r[1] * scale - off, r[2] * scale - off
    roi_w, roi_h = r[3] * scale - off - x1, r[4] * scale - off - y1
    if not aligned:
        roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
    bin_h, bin_w = roi_h / ph, roi_w / pw
    gh = sr if sr > 0 else math.ceil(bin_h)
    gw = sr if sr > 0 else math.ceil(bin_w)
    if gh <= 0 or gw <= 0:
        return
    ylo, yhi, wyl, wyh = _axis(y1, bin_h, ph, gh, h, f.dtype)
    xlo, xhi, wxl, wxh = _axis(x1, bin_w, pw, gw, w, f.dtype)
    fb = f[b]
    inv = 1.0 / (gh * gw)
    for p in range(ph):
        for q in range(pw):
            acc = out[p, q]
            if maxmode:
                acc[:] = -np.inf
            for iy in range(p * gh, (p + 1) * gh):
                r0, r1 = fb[ylo[iy]], fb[yhi[iy]]
                for ix in range(q * gw, (q + 1) * gw):
                    w00, w01 = wyl[iy] * wxl[ix], wyl[iy] * wxh[ix]
                    w10, w11 = wyh[iy] * wxl[ix], wyh[iy] * wxh[ix]
                    v00, v01, v10, v11 = r0[xlo[ix]], r0[xhi[ix]], r1[xlo[ix]], r1[xhi[ix]]
                    for ch in range(c):  # contiguous channels: SIMD
                        val = w00 * v00[ch] + w01 * v01[ch] + w10 * v10[ch] + w11 * v11[ch]
                        if maxmode:  # NaN sticks (max() would keep whichever came first)
                            if val > acc[ch] or val != val:
                                acc[ch] = val
                        else:
                            acc[ch] += val
            if not maxmode:
                for ch in range(c):
                    acc[ch] *= inv


@numba.njit(nogil=True, cache=False)
def _kernel(f: Any, r: Any, scale: float, sr: int, aligned: bool, maxmode: bool, out: Any) -> None:
    for n in range(out.shape[0]):
        _one_roi(f, r[n], scale, sr, aligned, maxmode, out[n])


@implementation("roi_align", "numba", "threads")
def roi_align(features: Any, rois: Any, pooled_height: int, pooled_width: int,
              spatial_scale: float, sampling_ratio: int, opts: RoiAlignOptions) -> Any:  # fmt: skip
    """RoIs split in contiguous blocks over numba.get_num_threads() GIL-free threads."""
    dtype = check_rois(features, rois, pooled_height, pooled_width, spatial_scale, sampling_ratio)
    # one compiled signature: float64, channels last (N, H, W, C), read-only views
    f = np.ascontiguousarray(np.moveaxis(np.asarray(features), 1, 3), dtype=np.float64).view()
    r = np.ascontiguousarray(rois, dtype=np.float64).view()
    f.flags.writeable = r.flags.writeable = False
    out = np.zeros((r.shape[0], pooled_height, pooled_width, f.shape[3]))
    if out.size:
        args = (float(spatial_scale), int(sampling_ratio), opts.aligned, opts.pool_mode == "max")
        threads = max(1, min(numba.get_num_threads(), r.shape[0] // 8))
        if threads == 1:
            _kernel(f, r, *args, out)
        else:
            cuts = np.linspace(0, r.shape[0], threads + 1).astype(int)
            with ThreadPoolExecutor(threads) as pool:
                jobs = [pool.submit(_kernel, f, r[a:b], *args, out[a:b])
                        for a, b in itertools.pairwise(cuts)]  # fmt: skip
                for job in jobs:
                    job.result()
    return np.ascontiguousarray(np.moveaxis(out, 3, 1), dtype=dtype)
