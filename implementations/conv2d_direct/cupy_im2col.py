"""conv2d_direct in CuPy, the GEMM route: cupy.pad, an as_strided im2col copy, cuBLAS.

The padded input is viewed as (N, C, kH, kW, H_out, W_out), copied once into cols, and one
batched ``cupy.matmul`` of the (g, O/g, K) weight with the (N, g, K, H_out·W_out) cols
yields the NCHW output directly.
"""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.conv2d_direct import ARGS, NP_PAD, ConvOptions, conv_plan


@implementation("conv2d_direct", "cupy", "im2col_matmul")
def conv2d(x: Any, weight: Any, bias: Any, opts: ConvOptions) -> Any:
    """cupy.pad, strided im2col (one copy), batched cuBLAS GEMM per group, bias added."""
    dtype = ARGS.check(x, weight, bias)
    plan = conv_plan(x.shape, weight.shape, opts)
    t, b, left, r = plan.pads
    xp = x.astype(dtype, copy=False)
    if any(plan.pads):
        xp = cp.pad(xp, ((0, 0), (0, 0), (t, b), (left, r)), mode=NP_PAD[opts.padding_mode])
    xp = cp.ascontiguousarray(xp)
    n, c = xp.shape[:2]
    o, cg, kh, kw = weight.shape
    g, oh, ow = plan.groups, plan.out_h, plan.out_w
    (sh, sw), (dh, dw) = plan.stride, plan.dilation
    if n * o == 0:
        return cp.empty((n, o, oh, ow), dtype=dtype)
    s_n, s_c, s_h, s_w = xp.strides
    view = cp.lib.stride_tricks.as_strided(
        xp, (n, c, kh, kw, oh, ow), (s_n, s_c, s_h * dh, s_w * dw, s_h * sh, s_w * sw)
    )
    cols = cp.ascontiguousarray(view).reshape(n, g, cg * kh * kw, oh * ow)
    w = cp.ascontiguousarray(weight, dtype=dtype).reshape(g, o // g, cg * kh * kw)
    out = cp.matmul(w, cols).reshape(n, o, oh, ow)
    if bias is not None:
        out += bias.astype(dtype, copy=False)[:, None, None]
    return out
