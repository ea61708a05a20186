"""image_rotation with Numba: one compiled loop over the output pixels, all planes per pixel.

The rotation is the same for every image and channel, so each output pixel's source
coordinate (affine in its position), floor and weights are computed once and applied to
all N·C planes; inside the image that is three lerps per plane, at the border four
weighted taps (one outside contributes 0), for nearest one rounded tap. Everything runs
in the image dtype.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.image_rotation import ARGS, RotationOptions, geometry


@numba.njit(cache=False)
def _kernel(x: Any, k: Any, nearest: bool, out: Any) -> None:
    planes, h, w = x.shape
    _, oh, ow = out.shape
    zero = x.dtype.type(0)
    one = x.dtype.type(1)
    for r in range(oh):
        for q in range(ow):
            sx = k[0] * q + (k[1] * r + k[2])
            sy = k[3] * q + (k[4] * r + k[5])
            if nearest:
                ni, nj = np.rint(sy), np.rint(sx)  # half to even
                if 0 <= ni < h and 0 <= nj < w:
                    for p in range(planes):
                        out[p, r, q] = x[p, int(ni), int(nj)]
                else:
                    for p in range(planes):
                        out[p, r, q] = zero
                continue
            fy, fx = math.floor(sy), math.floor(sx)
            v, u = sy - fy, sx - fx
            if 0 <= fy < h - 1 and 0 <= fx < w - 1:  # all four taps inside: three lerps
                i, j = int(fy), int(fx)
                for p in range(planes):
                    top = x[p, i, j] + u * (x[p, i, j + 1] - x[p, i, j])
                    bottom = x[p, i + 1, j] + u * (x[p, i + 1, j + 1] - x[p, i + 1, j])
                    out[p, r, q] = top + v * (bottom - top)
                continue
            # the border: each tap weighted, a tap outside contributes 0
            i, j = int(min(max(fy, -2.0), h)), int(min(max(fx, -2.0), w))
            w00 = (one - v) * (one - u) if 0 <= i < h and 0 <= j < w else zero
            w01 = (one - v) * u if 0 <= i < h and 0 <= j + 1 < w else zero
            w10 = v * (one - u) if 0 <= i + 1 < h and 0 <= j < w else zero
            w11 = v * u if 0 <= i + 1 < h and 0 <= j + 1 < w else zero
            i0, i1 = min(max(i, 0), h - 1), min(max(i + 1, 0), h - 1)
            j0, j1 = min(max(j, 0), w - 1), min(max(j + 1, 0), w - 1)
            for p in range(planes):
                out[p, r, q] = (w00 * x[p, i0, j0] + w01 * x[p, i0, j1]
                                + w10 * x[p, i1, j0] + w11 * x[p, i1, j1])  # fmt: skip


@implementation("image_rotation", "numba", "loops")
def rotate(image: Any, angle: float, opts: RotationOptions) -> Any:
    """Per output pixel: the source coordinate and weights once, then every plane."""
    dtype = ARGS.check(image, angle)
    n, c, h, w = image.shape
    out_h, out_w, coeffs = geometry(h, w, angle, opts)
    out = np.empty((n * c, out_h, out_w), dtype=dtype)
    if out.size:
        x = np.ascontiguousarray(image).reshape(n * c, h, w)
        k = np.asarray(coeffs, dtype=dtype)
        _kernel(x, k, opts.interpolation == "nearest", out)
    return out.reshape(n, c, out_h, out_w)
