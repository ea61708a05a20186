"""deformable_conv with Numba: a compiled four-tap gather into the columns, then BLAS.

NumPy forms, per offset group, each sample's four flat neighbour indices into the
channels-last image (N·H·W + 1 rows, the last one zeros for neighbours outside the image)
and their bilinear weights times the mask, a few numbers per sample. The compiled loop then
does the heavy part: for every (image, position, tap) it blends the four neighbour rows,
all of the group's channels in one contiguous vectorised pass, straight into the columns
(N·P, K·C), with no temporaries. One matrix product per weight group (BLAS) finishes.
Single-threaded, as the harness times one thread; two signatures (float32, float64).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.deformable_conv import ARGS, DeformOptions, deform_plan


@numba.njit(cache=False)
def _blend(rows: Any, idx: Any, wts: Any, cols: Any, lo: int, hi: int) -> None:
    """cols[s, lo:hi] = sum over the four corners q of wts[s, q]·rows[idx[s, q], lo:hi]."""
    for s in range(idx.shape[0]):
        i0, i1, i2, i3 = idx[s, 0], idx[s, 1], idx[s, 2], idx[s, 3]
        w0, w1, w2, w3 = wts[s, 0], wts[s, 1], wts[s, 2], wts[s, 3]
        for ch in range(lo, hi):
            cols[s, ch] = (
                w0 * rows[i0, ch] + w1 * rows[i1, ch] + w2 * rows[i2, ch] + w3 * rows[i3, ch]
            )


def _corners(y: Any, x: Any, h: int, w: int, first: Any, zero_row: int) -> tuple[Any, Any]:
    """Flat indices (S, 4) and bilinear weights (S, 4) of each sample's four neighbours."""
    y0, x0 = np.floor(y), np.floor(x)
    ly, lx = y - y0, x - x0
    r0, c0 = y0.astype(np.int64), x0.astype(np.int64)
    idx, wts = [], []
    for r, wr in ((r0, 1 - ly), (r0 + 1, ly)):
        for c, wc in ((c0, 1 - lx), (c0 + 1, lx)):
            inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
            idx.append(np.where(inside, first + r * w + c, zero_row).reshape(-1))
            wts.append((wr * wc).reshape(-1))
    return np.stack(idx, axis=1), np.stack(wts, axis=1)


@implementation("deformable_conv", "numba", "fused_gather")
def deformable_conv(
    x: Any, offset: Any, weight: Any, bias: Any, mask: Any, opts: DeformOptions
) -> Any:
    """NumPy neighbour tables, a compiled gather-and-blend per group, then BLAS."""
    dtype = ARGS.check(x, offset, weight, bias, mask)
    plan = deform_plan(
        x.shape, offset.shape, weight.shape, None if mask is None else mask.shape, opts
    )
    n, c, h, w = x.shape
    o, cw, kh, kw = weight.shape
    taps, g, oh, ow = kh * kw, plan.offset_groups, plan.out_h, plan.out_w
    pos, cg = oh * ow, c // g
    if n == 0 or o == 0:
        return np.zeros((n, o, oh, ow), dtype=dtype)
    rows = np.zeros((n * h * w + 1, c), dtype=dtype)
    rows[:-1] = x.transpose(0, 2, 3, 1).reshape(n * h * w, c)
    (sh, sw), (ph, pw), (dh, dw) = opts.stride, opts.padding, opts.dilation
    gy = (np.arange(oh) * sh - ph)[:, None, None, None] + (np.arange(kh) * dh)[:, None]
    gx = (np.arange(ow) * sw - pw)[None, :, None, None] + np.arange(kw) * dw
    gy = np.broadcast_to(gy, (oh, ow, kh, kw)).reshape(1, pos, taps).astype(dtype)
    gx = np.broadcast_to(gx, (oh, ow, kh, kw)).reshape(1, pos, taps).astype(dtype)
    off = np.asarray(offset, dtype=dtype).reshape(n, g, taps, 2, pos).transpose(1, 3, 0, 4, 2)
    mod = None if mask is None else np.asarray(mask, dtype=dtype).reshape(n, g, taps, pos)
    first = (np.arange(n) * (h * w)).reshape(n, 1, 1)
    cols = np.empty((n * pos * taps, c), dtype=dtype)
    for gi in range(g):
        idx, wts = _corners(gy + off[gi, 0], gx + off[gi, 1], h, w, first, n * h * w)
        if mod is not None:
            wts *= mod[:, gi].transpose(0, 2, 1).reshape(-1, 1)
        _blend(rows, idx, wts.astype(dtype, copy=False), cols, gi * cg, (gi + 1) * cg)
    cols = cols.reshape(n * pos, taps, c)
    kern = weight.astype(dtype, copy=False).transpose(0, 2, 3, 1).reshape(o, taps * cw)
    og = o // plan.groups
    out = np.empty((n * pos, o), dtype=dtype)
    for gi in range(plan.groups):
        part = cols[:, :, gi * cw : (gi + 1) * cw].reshape(n * pos, taps * cw)
        np.matmul(part, kern[gi * og : (gi + 1) * og].T, out=out[:, gi * og : (gi + 1) * og])
    if bias is not None:
        out += bias.astype(dtype, copy=False)
    return out.reshape(n, oh, ow, o).transpose(0, 3, 1, 2)
