"""bilinear_sample through the array API: channels-last flat gathers, any namespace.

The image is laid out once as (N·H·W, C) rows, so each of the four taps of a sample is one
row gather (all channels at once) with a flat index b·H·W + i·W + j. Padding modes act on
the coordinates (clamp, reflection) or on the tap weights (zeros), in the result dtype.
"""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace

from harness import implementation
from suites.bilinear_sample import ARGS, SampleOptions


def _fold(xp: Any, t: Any, n: int, opts: SampleOptions) -> Any:
    """Border clamps; reflection folds about the edges (or centres) and clamps."""
    if opts.padding_mode == "border":
        return xp.clip(t, 0.0, n - 1.0)
    if opts.padding_mode != "reflection":
        return t
    lo, hi = (0.0, n - 1.0) if opts.align_corners else (-0.5, n - 0.5)
    span = hi - lo
    if span <= 0:
        return xp.zeros_like(t)
    d = xp.abs(t - lo)
    flips = xp.floor(d / span)
    extra = d - flips * span
    odd = flips - 2 * xp.floor(flips / 2) == 1
    return xp.clip(xp.where(odd, hi - extra, lo + extra), 0.0, n - 1.0)


@implementation("bilinear_sample", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "flat_gather")
def sample(image: Any, coords: Any, opts: SampleOptions) -> Any:
    """Four row gathers from an (N·H·W, C) copy; weights zeroed for taps outside."""
    dtype, xp = ARGS.check(image, coords), array_namespace(image, coords)
    n, c, h, w = image.shape
    ho, wo = coords.shape[1:3]
    if n * c * ho * wo == 0:
        return xp.zeros((n, c, ho, wo), dtype=dtype)
    flat = xp.reshape(xp.permute_dims(xp.astype(image, dtype), (0, 2, 3, 1)), (n * h * w, c))
    pts = xp.reshape(xp.astype(coords, dtype), (n, ho * wo, 2))
    y, x = _fold(xp, pts[..., 0], h, opts), _fold(xp, pts[..., 1], w, opts)
    y0, x0 = xp.floor(y), xp.floor(x)
    v, u = y - y0, x - x0
    nan = xp.isnan(y) | xp.isnan(x)  # far-off floors are clipped to -2 or n: still outside
    i0 = xp.astype(xp.where(nan, 0.0, xp.clip(y0, -2.0, float(h))), xp.int64)
    j0 = xp.astype(xp.where(nan, 0.0, xp.clip(x0, -2.0, float(w))), xp.int64)
    base = xp.reshape(xp.arange(n, dtype=xp.int64), (n, 1)) * (h * w)
    out = None
    for di, wy in ((0, 1 - v), (1, v)):
        for dj, wx in ((0, 1 - u), (1, u)):
            i, j = i0 + di, j0 + dj
            inside = (i >= 0) & (i < h) & (j >= 0) & (j < w)
            idx = base + xp.clip(i, 0, h - 1) * w + xp.clip(j, 0, w - 1)
            tap = xp.take(flat, xp.reshape(idx, (-1,)), axis=0)  # (N·P, C)
            weight = xp.reshape(xp.where(inside, wy * wx, xp.zeros_like(wy)), (-1, 1))
            term = tap * weight
            out = term if out is None else out + term
    out = xp.where(xp.reshape(nan, (-1, 1)), xp.asarray(float("nan"), dtype=dtype), out)
    return xp.permute_dims(xp.reshape(out, (n, ho, wo, c)), (0, 3, 1, 2))
