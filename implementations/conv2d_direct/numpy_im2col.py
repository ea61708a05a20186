"""conv2d_direct in NumPy, the GEMM route: im2col through a strided view, then one BLAS GEMM
per image and group written straight into the output.

For each image the (C, kH, kW, H_out, W_out) view of the padded input is copied into one
reused (C·kH·kW, H_out·W_out) buffer (rows ordered (c, i, j), the weight's flattening), and
``np.matmul(w_g, cols_g, out=...)`` lands in out[n, group] with no transpose afterwards.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from harness import implementation
from suites.conv2d_direct import ARGS, ConvOptions, conv_plan, pad_numpy


@implementation("conv2d_direct", "numpy", "im2col_gemm")
def conv2d(x: Any, weight: Any, bias: Any, opts: ConvOptions) -> Any:
    """Padded copy, strided im2col view copied per image, BLAS GEMM per group into out."""
    dtype = ARGS.check(x, weight, bias)
    plan = conv_plan(x.shape, weight.shape, opts)
    xp = pad_numpy(np.asarray(x, dtype=dtype), plan, opts.padding_mode)
    n, c, _, _ = xp.shape
    o, cg, kh, kw = weight.shape
    g, oh, ow = plan.groups, plan.out_h, plan.out_w
    og, k = o // g, cg * kh * kw
    w = np.ascontiguousarray(weight, dtype=dtype).reshape(g, og, k)
    out = np.empty((n, o, oh, ow), dtype=dtype)
    if out.size == 0:
        return out
    _, s_c, s_h, s_w = xp.strides
    (sh, sw), (dh, dw) = plan.stride, plan.dilation
    cols = np.empty((g, k, oh * ow), dtype=dtype)
    shape = (c, kh, kw, oh, ow)
    pointwise = kh == kw == sh == sw == 1  # 1x1, stride 1: the image itself is cols
    for i in range(n):
        if pointwise:
            cols = xp[i].reshape(g, k, oh * ow)
        else:
            view = as_strided(xp[i], shape, (s_c, s_h * dh, s_w * dw, s_h * sh, s_w * sw))
            np.copyto(cols.reshape(shape), view)
        np.matmul(w, cols, out=out[i].reshape(g, og, oh * ow))
    if bias is not None:
        out += np.asarray(bias, dtype=dtype)[:, None, None]
    return out
