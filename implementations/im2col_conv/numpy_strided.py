"""im2col_conv in NumPy: one strided-view copy unfolds the whole batch, one stacked GEMM.

The zero-padded input is viewed as (N, C, kH, kW, H_out, W_out) with as_strided and copied
into cols in a single np.copyto (for a 1x1 kernel at stride 1 without padding, cols is the
input itself, reshaped: no copy). ``np.matmul`` of the (g, O/g, K) weight with cols seen as
(N, g, K, L) writes (N, g, O/g, L), the NCHW output, in place: one BLAS GEMM per image and group.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from harness import implementation
from suites.conv2d_direct import pad_numpy
from suites.im2col_conv import ARGS, BACKWARD_ARGS, Im2colOptions, backward_plan, im2col_plan


@implementation("im2col_conv", "numpy", "strided")
def im2col_conv(x: Any, weight: Any, bias: Any, opts: Im2colOptions) -> Any:
    """Zero pad, as_strided unfold (one copy), stacked matmul into the output, bias in place."""
    dtype = ARGS.check(x, weight, bias)
    plan = im2col_plan(x.shape, weight.shape, opts)
    xp = pad_numpy(np.asarray(x, dtype=dtype), plan, "zeros")
    n, c, _, _ = xp.shape
    o, cg, kh, kw = weight.shape
    g, oh, ow = plan.groups, plan.out_h, plan.out_w
    k, length = cg * kh * kw, oh * ow
    (sh, sw), (dh, dw) = plan.stride, plan.dilation
    if kh == kw == sh == sw == 1:
        cols = xp.reshape(n, c, length)
    else:
        cols = np.empty((n, c * kh * kw, length), dtype=dtype)
        s_n, s_c, s_h, s_w = xp.strides
        view = as_strided(
            xp, (n, c, kh, kw, oh, ow), (s_n, s_c, s_h * dh, s_w * dw, s_h * sh, s_w * sw)
        )
        np.copyto(cols.reshape(n, c, kh, kw, oh, ow), view)
    out = np.empty((n, o, oh, ow), dtype=dtype)
    if out.size:
        w = np.ascontiguousarray(weight, dtype=dtype).reshape(g, o // g, k)
        np.matmul(w, cols.reshape(n, g, k, length), out=out.reshape(n, g, o // g, length))
        if bias is not None:
            out += np.asarray(bias, dtype=dtype)[:, None, None]
    return cols, out


@implementation("im2col_conv.backward", "numpy", "strided")
def im2col_conv_backward(grad_out: Any, weight: Any, H: Any, W: Any, opts: Im2colOptions) -> Any:
    """Stacked matmul W_gᵀ @ grad_out_g gives cols; kH·kW strided adds fold them (col2im)."""
    dtype = BACKWARD_ARGS.check(grad_out, weight, H, W)
    plan = backward_plan(grad_out.shape, weight.shape, H, W, opts)
    n, o, oh, ow = grad_out.shape
    _, cg, kh, kw = weight.shape
    g, (t, b, left, r) = plan.groups, plan.pads
    (sh, sw), (dh, dw), c, k = plan.stride, plan.dilation, cg * plan.groups, cg * kh * kw
    w = np.ascontiguousarray(weight, dtype=dtype).reshape(g, o // g, k)
    gy = np.ascontiguousarray(grad_out, dtype=dtype).reshape(n, g, o // g, oh * ow)
    cols = np.matmul(w.transpose(0, 2, 1), gy).reshape(n, c, kh, kw, oh, ow)
    gx = np.zeros((n, c, H + t + b, W + left + r), dtype=dtype)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
            gx[:, :, rows, j * dw : j * dw + sw * (ow - 1) + 1 : sw] += cols[:, :, i, j]
    return np.ascontiguousarray(gx[:, :, t : t + H, left : left + W])
