"""bilinear_sample with Numba: one compiled loop over samples, all channels per sample.

The image is read channels-last (one (N, H, W, C) copy), so a sample's four taps are four
short contiguous runs; the padding rule, the four weights (0 for a tap outside the image)
and four clamped indices are computed once per sample in the result dtype, then every
channel is one branch-free weighted sum.
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
def _kernel(img: Any, pts: Any, mode: int, align: bool, out: Any) -> None:
    n, h, w, c = img.shape
    zero = pts.dtype.type(0)  # float32 stays float32
    one = pts.dtype.type(1)
    for b in range(n):
        for p in range(pts.shape[1]):
            y = pts.dtype.type(_fold(pts[b, p, 0], h, mode, align))
            x = pts.dtype.type(_fold(pts[b, p, 1], w, mode, align))
            if math.isnan(y) or math.isnan(x):
                for ch in range(c):
                    out[b, p, ch] = math.nan
                continue
            fy, fx = math.floor(y), math.floor(x)
            v, u = y - fy, x - fx
            i0 = int(min(max(fy, -2.0), h))
            j0 = int(min(max(fx, -2.0), w))
            # taps outside the image get weight 0 and a clamped (valid) index: no branches
            wy0 = one - v if 0 <= i0 < h else zero
            wy1 = v if 0 <= i0 + 1 < h else zero
            wx0 = one - u if 0 <= j0 < w else zero
            wx1 = u if 0 <= j0 + 1 < w else zero
            r0, r1 = min(max(i0, 0), h - 1), min(max(i0 + 1, 0), h - 1)
            c0, c1 = min(max(j0, 0), w - 1), min(max(j0 + 1, 0), w - 1)
            w00, w01, w10, w11 = wy0 * wx0, wy0 * wx1, wy1 * wx0, wy1 * wx1
            for ch in range(c):
                out[b, p, ch] = (w00 * img[b, r0, c0, ch] + w01 * img[b, r0, c1, ch]
                                 + w10 * img[b, r1, c0, ch] + w11 * img[b, r1, c1, ch])  # fmt: skip


@implementation("bilinear_sample", "numba", "loops")
def sample(image: Any, coords: Any, opts: SampleOptions) -> Any:
    """Channels-last copy, then one compiled pass over the samples."""
    dtype = ARGS.check(image, coords)
    n, c = image.shape[:2]
    ho, wo = coords.shape[1:3]
    img = np.ascontiguousarray(image.transpose(0, 2, 3, 1), dtype=dtype)
    pts = np.ascontiguousarray(coords, dtype=dtype).reshape(n, ho * wo, 2)
    out = np.empty((n, ho * wo, c), dtype=dtype)
    if out.size:
        _kernel(img, pts, _MODES[opts.padding_mode], opts.align_corners, out)
    return out.reshape(n, ho, wo, c).transpose(0, 3, 1, 2)
