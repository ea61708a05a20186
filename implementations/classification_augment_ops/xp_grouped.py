"""classification_augment_ops through the array API: whole-batch steps, jitter grouped by op.

The crop is taken on the uint8 image before anything else (only the kept pixels are
converted; RandomCrop's origins are floor(u·(n + 1)) of the host copy of the draws, one
slice per image), the flip is one where over the batch, and each of the four ColorJitter steps
runs every op on the images whose order names it at that step (gathered, transformed,
written back), so no image pays for an op twice. The HSV round trip is branch-free: the
hue from one division, and back to RGB without sectors (channel = v − v·s·clip(min(k,
4 − k), 0, 1), k = (n + 6h) mod 6). Everything in the output dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import array_namespace, device

from harness import implementation
from implementations.resize_bilinear._taps import taps
from suites.classification_augment_ops import (
    AA,
    GRAY_WEIGHTS,
    AugmentOptions,
    _host,
    check_augment,
    crop_origin,
    resized_crop_box,
)


def _gray(x: Any, wts: tuple[float, float, float]) -> Any:
    if x.shape[1] == 1:
        return x
    return wts[0] * x[:, 0:1] + wts[1] * x[:, 1:2] + wts[2] * x[:, 2:3]


def _hue(xp: Any, x: Any, f: Any) -> Any:
    """RGB -> HSV with one division for the hue, shift, then HSV -> RGB by the sector-free
    form channel = v·(1 − s·clip(min(k, 4 − k), 0, 1)), k = (n + 6h) mod 6, n = 5, 3, 1."""
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    v, minc = xp.max(x, axis=1), xp.min(x, axis=1)
    eqc = v == minc
    cr = v - minc
    s = cr / xp.where(eqc, xp.ones_like(v), v)
    num = xp.where(v == r, g - b, xp.where(v == g, (b - r) + 2.0 * cr, (r - g) + 4.0 * cr))
    h6 = num / xp.where(eqc, xp.ones_like(cr), cr) + 6.0 * f  # 6·hue + 6·shift
    h6 = h6 - 6.0 * xp.floor(h6 / 6.0)  # mod 6, in [0, 6)
    vs = v * s
    out = []
    for n in (5.0, 3.0, 1.0):
        k = h6 + n
        k = xp.where(k >= 6.0, k - 6.0, k)
        out.append(v - vs * xp.clip(xp.minimum(k, 4.0 - k), 0.0, 1.0))
    return xp.stack(out, axis=1)


def _apply(xp: Any, op: int, x: Any, f: Any, wts: tuple[float, float, float]) -> Any:
    f4 = xp.reshape(f, (-1, 1, 1, 1))
    if op == 0:
        return xp.clip(f4 * x, 0.0, 1.0)
    if op == 1:
        m = xp.mean(_gray(x, wts), axis=(1, 2, 3), keepdims=True)
        return xp.clip(f4 * x + (1.0 - f4) * m, 0.0, 1.0)
    if x.shape[1] == 1:
        return x
    if op == 2:
        return xp.clip(f4 * x + (1.0 - f4) * _gray(x, wts), 0.0, 1.0)
    return _hue(xp, x, xp.reshape(f, (-1, 1, 1)))


def _resized_crops(xp: Any, image: Any, draws: Any, out_h: int, out_w: int, dtype: Any) -> Any:
    """Per image: RandomResizedCrop's box (the suite's get_params on the host copy of the
    draws), then the antialiased bilinear taps of each axis: a row pass and a column pass
    of gathers and weights on the crop."""
    n, h, w, c = image.shape
    dev = device(image)
    out = xp.empty((n, c, out_h, out_w), dtype=dtype, device=dev)
    host = np.asarray(_host(draws), dtype=np.float64)
    for k in range(n):
        i, j, ch, cw = resized_crop_box(h, w, host[k])
        x = xp.empty((c, ch, cw), dtype=dtype, device=dev)
        x[...] = xp.permute_dims(image[k, i : i + ch, j : j + cw, :], (2, 0, 1))
        x /= 255.0
        for axis, (idx, wts) in ((1, taps(ch, out_h, AA)), (2, taps(cw, out_w, AA))):
            shape = (-1, 1) if axis == 1 else (-1,)
            acc = None
            for t in range(len(idx[0])):
                col = xp.asarray([row[t] for row in idx], dtype=xp.int64, device=dev)
                wt = xp.asarray([row[t] for row in wts], dtype=dtype, device=dev)
                term = xp.take(x, col, axis=axis) * xp.reshape(wt, shape)
                acc = term if acc is None else acc + term
            x = acc
        out[k] = x
    return out


@implementation(
    "classification_augment_ops", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "grouped"
)
def augment(
    image: Any,
    flip: Any,
    factors: Any,
    order: Any,
    draws: Any,
    mean: Any,
    std: Any,
    out_h: int,
    out_w: int,
    opts: AugmentOptions,
) -> Any:
    """Crop, convert, flip, four grouped jitter steps, normalise: batched (the random
    resized crops, of different sizes, image by image)."""
    dtype = check_augment(image, flip, factors, order, draws, mean, std, out_h, out_w, opts)
    xp = array_namespace(image, factors)
    n, h, w, c = image.shape
    if opts.crop == "random_resized":
        x = _resized_crops(xp, image, draws, out_h, out_w, dtype)
    elif opts.crop == "random":
        u = np.asarray(_host(draws), dtype=np.float64)[:, 0, 2:]  # (N, 2): top, left draws
        tops = np.floor(u[:, 0] * (h - out_h + 1)).astype(np.int64)
        lefts = np.floor(u[:, 1] * (w - out_w + 1)).astype(np.int64)
        x = xp.empty((n, c, out_h, out_w), dtype=dtype, device=device(image))
        for k in range(n):
            t, left = int(tops[k]), int(lefts[k])
            x[k] = xp.permute_dims(image[k, t : t + out_h, left : left + out_w, :], (2, 0, 1))
        x /= 255.0
    else:
        top, left = crop_origin(h, w, out_h, out_w)
        crop = image[:, top : top + out_h, left : left + out_w, :]
        x = xp.empty((n, c, out_h, out_w), dtype=dtype, device=device(image))
        x[...] = xp.permute_dims(crop, (0, 3, 1, 2))  # one pass into planar (CHW) float
        x /= 255.0
    flipped = xp.nonzero(flip)[0]
    if flipped.shape[0]:
        x[flipped] = xp.flip(xp.take(x, flipped, axis=0), axis=3)
    wts = GRAY_WEIGHTS[opts.gray_weights]
    for step in range(4):
        for op in range(4):
            idx = xp.nonzero(order[:, step] == op)[0]
            if idx.shape[0] == 0:
                continue
            f = xp.take(factors[:, op], idx)
            x[idx] = _apply(xp, op, xp.take(x, idx, axis=0), f, wts)
    return (x - xp.reshape(mean, (1, -1, 1, 1))) / xp.reshape(std, (1, -1, 1, 1))
