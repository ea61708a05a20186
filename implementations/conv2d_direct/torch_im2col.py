"""conv2d_direct in torch without F.conv2d: im2col through as_strided, one batched GEMM.

The padded input (F.pad, any padding mode) is viewed as (N, g, C/g·kH·kW, H_out, W_out) and
copied once into cols; ``torch.matmul`` of the (g, O/g, K) weight with it gives
(N, g, O/g, H_out·W_out), which is already the NCHW output (no transpose). Device-agnostic.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.conv2d_direct import ARGS, ConvOptions, conv_plan

_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate",
          "circular": "circular"}  # fmt: skip


@implementation("conv2d_direct", ("torch_cpu", "torch_cuda"), "im2col_matmul")
def conv2d(x: Any, weight: Any, bias: Any, opts: ConvOptions) -> Any:
    """F.pad, as_strided im2col (one copy), broadcast matmul per group, bias add_ in place."""
    dtype = ARGS.check(x, weight, bias)
    plan = conv_plan(x.shape, weight.shape, opts)
    t, b, left, r = plan.pads
    xp = x.to(dtype)
    if any(plan.pads):
        xp = F.pad(xp, (left, r, t, b), mode=_MODES[opts.padding_mode])
    xp = xp.contiguous()
    n, c = xp.shape[:2]
    o, cg, kh, kw = weight.shape
    g, oh, ow = plan.groups, plan.out_h, plan.out_w
    (sh, sw), (dh, dw) = plan.stride, plan.dilation
    if n * o == 0:
        return torch.empty((n, o, oh, ow), dtype=dtype, device=x.device)
    s_n, s_c, s_h, s_w = xp.stride()
    cols = xp.as_strided(
        (n, g, cg * kh * kw, oh, ow) if kh == kw == 1 else (n, c, kh, kw, oh, ow),
        (s_n, cg * s_c, s_c, s_h * sh, s_w * sw)
        if kh == kw == 1
        else (s_n, s_c, s_h * dh, s_w * dw, s_h * sh, s_w * sw),
    ).reshape(n, g, cg * kh * kw, oh * ow)  # the one copy (a view for 1x1, stride 1)
    out = torch.matmul(weight.to(dtype).reshape(g, o // g, cg * kh * kw), cols)
    out = out.view(n, o, oh, ow)
    if bias is not None:
        out.add_(bias.to(dtype)[:, None, None])
    return out
