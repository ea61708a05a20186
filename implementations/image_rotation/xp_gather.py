"""image_rotation through the array API: the affine source grid, then flat gathers (any namespace).

The rotation is the same for every image and channel, so the source coordinates are one
(out_h, out_w) grid formed from two aranges in the image dtype, and every tap is one gather
of the (N·C, H·W) planes at the same flat indices. Taps outside the image get weight 0 (and
a clamped index); nearest rounds half to even (xp.round) and zeroes what lands outside.
"""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace, device

from harness import implementation
from suites.image_rotation import ARGS, RotationOptions, geometry


@implementation("image_rotation", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "gather")
def rotate(image: Any, angle: float, opts: RotationOptions) -> Any:
    """One coordinate grid, then 4 (bilinear) or 1 (nearest) gathers over all planes."""
    dtype, xp = ARGS.check(image, angle), array_namespace(image)
    n, c, h, w = image.shape
    out_h, out_w, (ax, bx, cx, ay, by, cy) = geometry(h, w, angle, opts)
    dev = device(image)
    if n * c == 0:
        return xp.zeros((n, c, out_h, out_w), dtype=dtype, device=dev)
    planes = xp.reshape(image, (n * c, h * w))
    q = xp.reshape(xp.arange(out_w, dtype=dtype, device=dev), (1, out_w))
    r = xp.reshape(xp.arange(out_h, dtype=dtype, device=dev), (out_h, 1))
    x = xp.reshape(q * ax + (r * bx + cx), (-1,))
    y = xp.reshape(q * ay + (r * by + cy), (-1,))
    if opts.interpolation == "nearest":
        i, j = xp.astype(xp.round(y), xp.int64), xp.astype(xp.round(x), xp.int64)
        inside = (i >= 0) & (i < h) & (j >= 0) & (j < w)
        idx = xp.clip(i, 0, h - 1) * w + xp.clip(j, 0, w - 1)
        out = xp.take(planes, idx, axis=1) * xp.astype(inside, dtype)
    else:
        y0, x0 = xp.floor(y), xp.floor(x)
        v, u = y - y0, x - x0
        i0 = xp.astype(xp.clip(y0, -2.0, float(h)), xp.int64)
        j0 = xp.astype(xp.clip(x0, -2.0, float(w)), xp.int64)
        out = None
        for di, wy in ((0, 1 - v), (1, v)):
            i = i0 + di
            wy = xp.where((i >= 0) & (i < h), wy, 0.0)
            ri = xp.clip(i, 0, h - 1) * w
            for dj, wx in ((0, 1 - u), (1, u)):
                j = j0 + dj
                weight = xp.where((j >= 0) & (j < w), wy * wx, 0.0)
                term = xp.take(planes, ri + xp.clip(j, 0, w - 1), axis=1) * weight
                out = term if out is None else out + term
    return xp.reshape(out, (n, c, out_h, out_w))
