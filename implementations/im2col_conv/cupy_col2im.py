"""im2col_conv.backward in CuPy: batched cuBLAS W_gᵀ @ grad_out_g gives the cols gradient,
then kH·kW strided adds fold it onto the padded image (col2im), cropped."""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.im2col_conv import BACKWARD_ARGS, Im2colOptions, backward_plan


@implementation("im2col_conv.backward", "cupy", "col2im")
def im2col_conv_backward(grad_out: Any, weight: Any, H: Any, W: Any, opts: Im2colOptions) -> Any:
    """Batched cuBLAS W_gᵀ @ grad_out_g gives cols; kH·kW strided adds fold them, crop."""
    dtype = BACKWARD_ARGS.check(grad_out, weight, H, W)
    plan = backward_plan(grad_out.shape, weight.shape, H, W, opts)
    n, o, oh, ow = grad_out.shape
    _, cg, kh, kw = weight.shape
    g, (t, b, left, r) = plan.groups, plan.pads
    (sh, sw), (dh, dw), c, k = plan.stride, plan.dilation, cg * plan.groups, cg * kh * kw
    w = cp.ascontiguousarray(weight, dtype=dtype).reshape(g, o // g, k)
    gy = cp.ascontiguousarray(grad_out, dtype=dtype).reshape(n, g, o // g, oh * ow)
    cols = cp.matmul(w.transpose(0, 2, 1), gy).reshape(n, c, kh, kw, oh, ow)
    gx = cp.zeros((n, c, H + t + b, W + left + r), dtype=dtype)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
            gx[:, :, rows, j * dw : j * dw + sw * (ow - 1) + 1 : sw] += cols[:, :, i, j]
    return cp.ascontiguousarray(gx[:, :, t : t + H, left : left + W])
