"""bilinear_sample with Numba: per image, one loop over samples for the taps, then one
vectorised gather loop per channel.

The padding rule, the four weights (0 for a tap outside the image) and four clamped flat
indices are computed once per sample in the result dtype. Then each channel plane is one
branch-free loop over the samples: four gathers and a weighted sum, with unsigned indices
so that LLVM vectorises it (AVX-512 gathers where the CPU has them). The earlier form,
all channels of one sample at a time from a channels-last copy, with math.floor (through
an int), took 3.1x F.grid_sample on an AVX-512 machine; this one 1.3x.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.bilinear_sample import ARGS, SampleOptions

_MODES = {"zeros": 0, "border": 1, "reflection": 2}


@numba.njit(cache=False)
def _fold(t: Any, n: int, mode: int, align: bool) -> Any:
    if mode == 1:
        return min(max(t, 0.0), n - 1.0)
    if mode == 2:
        lo = 0.0 if align else -0.5
        hi = n - 1.0 if align else n - 0.5
        span = hi - lo
        if span <= 0.0:
            return 0.0 * t
        d = abs(t - lo)
        flips = math.floor(d / span)
        extra = d - flips * span
        t = hi - extra if flips % 2 == 1 else lo + extra
        return min(max(t, 0.0), n - 1.0)
    return t


@numba.njit(cache=False)
def _kernel(img: Any, pts: Any, h: int, w: int, mode: int, align: bool, out: Any) -> None:
    """img (N, C, H·W) channel planes of an H x W image, pts (N, P, 2), out (N, C, P).

    Per image, one pass over the samples turns each into four flat tap indices (unsigned,
    so no wraparound check stands between LLVM and its gathers) and four weights; then
    every channel is one gather-and-blend loop over the samples, which LLVM vectorises.
    A NaN coordinate gives NaN weights, so every channel of that sample comes out NaN.
    """
    n, c, _ = img.shape
    n_pts = pts.shape[1]
    zero = pts.dtype.type(0)  # float32 stays float32
    one = pts.dtype.type(1)
    nan = pts.dtype.type(math.nan)
    low, high_h, high_w = pts.dtype.type(-2), pts.dtype.type(h), pts.dtype.type(w)
    taps = np.empty((4, n_pts), dtype=np.uint64)
    weights = np.empty((4, n_pts), dtype=pts.dtype)
    for b in range(n):
        for p in range(n_pts):
            y, x = pts[b, p, 0], pts[b, p, 1]
            if mode != 0:  # zeros padding reads the coordinates as they are
                y = pts.dtype.type(_fold(y, h, mode, align))
                x = pts.dtype.type(_fold(x, w, mode, align))
            # selects, not branches: a NaN coordinate is read as 0 and its weights made NaN
            ok = not (math.isnan(y) or math.isnan(x))
            y, x = (y if ok else zero), (x if ok else zero)
            scale = one if ok else nan
            # np.floor stays in the coordinates' dtype (math.floor goes through an int), and
            # the clamp before the int conversion keeps it in range: 2.4x faster per sample
            fy, fx = np.floor(y), np.floor(x)
            v, u = y - fy, x - fx
            i0: Any = np.int64(min(max(fy, low), high_h))
            j0: Any = np.int64(min(max(fx, low), high_w))
            # taps outside the image get weight 0 and a clamped (valid) index: no branches
            wy0 = (one - v if 0 <= i0 < h else zero) * scale
            wy1 = (v if 0 <= i0 + 1 < h else zero) * scale
            wx0 = one - u if 0 <= j0 < w else zero
            wx1 = u if 0 <= j0 + 1 < w else zero
            r0, r1 = min(max(i0, 0), h - 1), min(max(i0 + 1, 0), h - 1)
            c0, c1 = min(max(j0, 0), w - 1), min(max(j0 + 1, 0), w - 1)
            taps[0, p], taps[1, p] = r0 * w + c0, r0 * w + c1
            taps[2, p], taps[3, p] = r1 * w + c0, r1 * w + c1
            weights[0, p], weights[1, p] = wy0 * wx0, wy0 * wx1
            weights[2, p], weights[3, p] = wy1 * wx0, wy1 * wx1
        t00, t01, t10, t11 = taps[0], taps[1], taps[2], taps[3]
        w00, w01, w10, w11 = weights[0], weights[1], weights[2], weights[3]
        for ch in range(c):
            plane, dst = img[b, ch], out[b, ch]
            for p in range(n_pts):
                dst[p] = (w00[p] * plane[t00[p]] + w01[p] * plane[t01[p]]
                          + w10[p] * plane[t10[p]] + w11[p] * plane[t11[p]])  # fmt: skip


@implementation("bilinear_sample", "numba", "loops")
def sample(image: Any, coords: Any, opts: SampleOptions) -> Any:
    """Flat channel planes, then per image: tap indices and weights, then channel gathers."""
    dtype = ARGS.check(image, coords)
    n, c, h, w = image.shape
    ho, wo = coords.shape[1:3]
    img = np.ascontiguousarray(image, dtype=dtype).reshape(n, c, h * w)
    pts = np.ascontiguousarray(coords, dtype=dtype).reshape(n, ho * wo, 2)
    out = np.empty((n, c, ho * wo), dtype=dtype)
    if out.size:
        _kernel(img, pts, h, w, _MODES[opts.padding_mode], opts.align_corners, out)
    return out.reshape(n, c, ho, wo)
