"""im2col_conv in CuPy: cupy.pad (zeros), an as_strided view copied once into cols, and one
batched cupy.matmul (cuBLAS) of the (g, O/g, K) weight with cols as (N, g, K, L)."""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.im2col_conv import ARGS, Im2colOptions, im2col_plan


@implementation("im2col_conv", "cupy", "strided")
def im2col_conv(x: Any, weight: Any, bias: Any, opts: Im2colOptions) -> Any:
    """Zero pad, strided unfold (one copy), batched cuBLAS GEMM per group, bias added."""
    dtype = ARGS.check(x, weight, bias)
    plan = im2col_plan(x.shape, weight.shape, opts)
    t, b, left, r = plan.pads
    xp = cp.ascontiguousarray(
        cp.pad(x.astype(dtype, copy=False), ((0, 0), (0, 0), (t, b), (left, r)))
    )
    n, c = xp.shape[:2]
    o, cg, kh, kw = weight.shape
    g, oh, ow = plan.groups, plan.out_h, plan.out_w
    (sh, sw), (dh, dw) = plan.stride, plan.dilation
    k, length = cg * kh * kw, oh * ow
    s_n, s_c, s_h, s_w = xp.strides
    view = cp.lib.stride_tricks.as_strided(
        xp, (n, c, kh, kw, oh, ow), (s_n, s_c, s_h * dh, s_w * dw, s_h * sh, s_w * sw)
    )
    cols = cp.ascontiguousarray(view).reshape(n, c * kh * kw, length)
    w = cp.ascontiguousarray(weight, dtype=dtype).reshape(g, o // g, k)
    out = cp.matmul(w, cols.reshape(n, g, k, length)).reshape(n, o, oh, ow)
    if bias is not None:
        out += bias.astype(dtype, copy=False)[:, None, None]
    return cols, out
