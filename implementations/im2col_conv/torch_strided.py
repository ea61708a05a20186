"""im2col_conv in torch without F.unfold: an as_strided view of the zero-padded input copied
once into cols, then one broadcast torch.matmul per group. Device-agnostic.

cols seen as (N, g, K, L) times the (g, O/g, K) weight is (N, g, O/g, L): the NCHW output
with no transpose. A 1x1 kernel at stride 1 without padding makes cols a view of x.
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F

from harness import implementation
from suites.im2col_conv import ARGS, BACKWARD_ARGS, Im2colOptions, backward_plan, im2col_plan


@implementation("im2col_conv", ("torch_cpu", "torch_cuda"), "strided")
def im2col_conv(x: Any, weight: Any, bias: Any, opts: Im2colOptions) -> Any:
    """F.pad (zeros), as_strided unfold with one copy, broadcast matmul, bias add_."""
    dtype = ARGS.check(x, weight, bias)
    plan = im2col_plan(x.shape, weight.shape, opts)
    t, b, left, r = plan.pads
    xp = x.to(dtype)
    if any(plan.pads):
        xp = F.pad(xp, (left, r, t, b))
    xp = xp.contiguous()
    n, c = xp.shape[:2]
    o, cg, kh, kw = weight.shape
    g, oh, ow = plan.groups, plan.out_h, plan.out_w
    (sh, sw), (dh, dw) = plan.stride, plan.dilation
    k, length = cg * kh * kw, oh * ow
    s_n, s_c, s_h, s_w = xp.stride()
    view = xp.as_strided((n, c, kh, kw, oh, ow), (s_n, s_c, s_h * dh, s_w * dw, s_h * sh, s_w * sw))
    cols = view.reshape(n, c * kh * kw, length)  # a copy, or x itself for 1x1 at stride 1
    out = weight.to(dtype).reshape(g, o // g, k).matmul(cols.view(n, g, k, length))
    out = out.view(n, o, oh, ow)
    if bias is not None:
        out.add_(bias.to(dtype)[:, None, None])
    return cols, out


@implementation("im2col_conv.backward", ("torch_cpu", "torch_cuda"), "strided")
def im2col_conv_backward(grad_out: Any, weight: Any, H: Any, W: Any, opts: Im2colOptions) -> Any:
    """Broadcast matmul W_gᵀ @ grad_out_g gives cols; kH·kW strided add_ fold them, crop."""
    dtype = BACKWARD_ARGS.check(grad_out, weight, H, W)
    plan = backward_plan(grad_out.shape, weight.shape, H, W, opts)
    n, o, oh, ow = grad_out.shape
    _, cg, kh, kw = weight.shape
    g, (t, b, left, r) = plan.groups, plan.pads
    (sh, sw), (dh, dw), c, k = plan.stride, plan.dilation, cg * plan.groups, cg * kh * kw
    w = weight.to(dtype).reshape(g, o // g, k).transpose(1, 2)
    cols = w.matmul(grad_out.to(dtype).reshape(n, g, o // g, oh * ow))
    cols = cols.reshape(n, c, kh, kw, oh, ow)
    gx = grad_out.new_zeros((n, c, H + t + b, W + left + r), dtype=dtype)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
            gx[:, :, rows, j * dw : j * dw + sw * (ow - 1) + 1 : sw] += cols[:, :, i, j]
    return gx[:, :, t : t + H, left : left + W].contiguous()
