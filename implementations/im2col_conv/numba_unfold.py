"""im2col_conv with Numba: a compiled unfold that reads x unpadded (padding is written as
zeros straight into cols, no padded copy), then BLAS through one stacked np.matmul.

For every cols row (c, i, j) and output row y the range of output columns whose input column
falls inside the image is computed once, so the copy loop has no per-element branch; it is
contiguous in x at stride 1.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.im2col_conv import ARGS, BACKWARD_ARGS, Im2colOptions, backward_plan, im2col_plan


@numba.njit(cache=False)
def _unfold(x: Any, cols: Any, kh: int, kw: int, oh: int, ow: int, geo: Any) -> None:
    sh, sw, dh, dw, top, left = geo[0], geo[1], geo[2], geo[3], geo[4], geo[5]
    n_img, c_all, h, w = x.shape
    zero = cols.dtype.type(0)
    for n in range(n_img):
        for c in range(c_all):
            for i in range(kh):
                for j in range(kw):
                    row = cols[n, (c * kh + i) * kw + j]
                    off = j * dw - left  # input column of output column 0
                    lo = 0 if off >= 0 else min(ow, (-off + sw - 1) // sw)
                    hi = max(lo, min(ow, (w - 1 - off) // sw + 1)) if w - 1 - off >= 0 else lo
                    for y in range(oh):
                        yy = y * sh + i * dh - top
                        seg = row[y * ow : (y + 1) * ow]
                        if yy < 0 or yy >= h:
                            seg[:] = zero
                            continue
                        src = x[n, c, yy]
                        seg[:lo] = zero
                        for q in range(lo, hi):
                            seg[q] = src[off + q * sw]
                        seg[hi:] = zero


def _frozen(a: Any) -> Any:
    view = a.view()
    view.flags.writeable = False
    return view


@implementation("im2col_conv", "numba", "unfold")
def im2col_conv(x: Any, weight: Any, bias: Any, opts: Im2colOptions) -> Any:
    """Compiled unfold with the zero padding fused in, stacked BLAS matmul, bias in place."""
    dtype = ARGS.check(x, weight, bias)
    plan = im2col_plan(x.shape, weight.shape, opts)
    xc = np.ascontiguousarray(x, dtype=dtype)
    n, c = xc.shape[:2]
    o, cg, kh, kw = weight.shape
    g, oh, ow = plan.groups, plan.out_h, plan.out_w
    k, length = cg * kh * kw, oh * ow
    cols = np.empty((n, c * kh * kw, length), dtype=dtype)
    geo = np.array([*plan.stride, *plan.dilation, plan.pads[0], plan.pads[2]], dtype=np.int64)
    if cols.size:
        _unfold(_frozen(xc), cols, kh, kw, oh, ow, geo)
    out = np.empty((n, o, oh, ow), dtype=dtype)
    if out.size:
        w = np.ascontiguousarray(weight, dtype=dtype).reshape(g, o // g, k)
        np.matmul(w, cols.reshape(n, g, k, length), out=out.reshape(n, g, o // g, length))
        if bias is not None:
            out += np.asarray(bias, dtype=dtype)[:, None, None]
    return cols, out


@numba.njit(cache=False)
def _fold(cols: Any, gx: Any, kh: int, kw: int, oh: int, ow: int, geo: Any) -> None:
    """gx (N, C, H, W), zeroed: every cols element added onto the pixel it was read from;
    padding positions are skipped (their gradient belongs to no pixel)."""
    sh, sw, dh, dw, top, left = geo[0], geo[1], geo[2], geo[3], geo[4], geo[5]
    n_img, c_all, h, w = gx.shape
    for n in range(n_img):
        for c in range(c_all):
            for i in range(kh):
                for j in range(kw):
                    row = cols[n, (c * kh + i) * kw + j]
                    off = j * dw - left
                    lo = 0 if off >= 0 else min(ow, (-off + sw - 1) // sw)
                    hi = max(lo, min(ow, (w - 1 - off) // sw + 1)) if w - 1 - off >= 0 else lo
                    for y in range(oh):
                        yy = y * sh + i * dh - top
                        if yy < 0 or yy >= h:
                            continue
                        dst = gx[n, c, yy]
                        seg = row[y * ow : (y + 1) * ow]
                        for q in range(lo, hi):
                            dst[off + q * sw] += seg[q]


@implementation("im2col_conv.backward", "numba", "unfold")
def im2col_conv_backward(grad_out: Any, weight: Any, H: Any, W: Any, opts: Im2colOptions) -> Any:
    """Stacked BLAS matmul W_gᵀ @ grad_out_g, then a compiled col2im straight into the
    unpadded gradient (no padded buffer, no crop)."""
    dtype = BACKWARD_ARGS.check(grad_out, weight, H, W)
    plan = backward_plan(grad_out.shape, weight.shape, H, W, opts)
    n, o, oh, ow = grad_out.shape
    _, cg, kh, kw = weight.shape
    g, c, k = plan.groups, cg * plan.groups, cg * kh * kw
    w = np.ascontiguousarray(weight, dtype=dtype).reshape(g, o // g, k)
    gy = np.ascontiguousarray(grad_out, dtype=dtype).reshape(n, g, o // g, oh * ow)
    cols = np.ascontiguousarray(np.matmul(w.transpose(0, 2, 1), gy)).reshape(
        n, c * kh * kw, oh * ow
    )
    gx = np.zeros((n, c, H, W), dtype=dtype)
    geo = np.array([*plan.stride, *plan.dilation, plan.pads[0], plan.pads[2]], dtype=np.int64)
    if gx.size:
        _fold(_frozen(cols), gx, kh, kw, oh, ow, geo)
    return gx
