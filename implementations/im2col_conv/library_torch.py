"""im2col_conv through torch: cols from torch.nn.functional.unfold, out from F.conv2d.

F.unfold pads symmetrically with zeros; asymmetric and 'same' padding are F.pad first (the
adapter), then padding 0. An integer image is widened to the result dtype first.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.im2col_conv import ARGS, BACKWARD_ARGS, Im2colOptions, backward_plan, im2col_plan


@implementation("im2col_conv", "library", "torch", arrays="torch_cpu", requires=("torch",))
def im2col_conv(x: Any, weight: Any, bias: Any, opts: Im2colOptions) -> Any:
    """cols = F.unfold(x, kernel, dilation, padding, stride); out = F.conv2d(x, w, b, ...)."""
    dtype = ARGS.check(x, weight, bias)
    plan = im2col_plan(x.shape, weight.shape, opts)
    x, weight = x.to(dtype), weight.to(dtype)
    bias = None if bias is None else bias.to(dtype)
    (n, c), (o, _, kh, kw) = x.shape[:2], weight.shape
    length = plan.out_h * plan.out_w
    if n == 0:  # F.unfold refuses an empty batch
        cols = torch.empty((0, c * kh * kw, length), dtype=dtype)
        return cols, torch.empty((0, o, plan.out_h, plan.out_w), dtype=dtype)
    t, b, left, r = plan.pads
    padding: Any = (t, left)
    if (t, left) != (b, r):
        x, padding = F.pad(x, (left, r, t, b)), (0, 0)
    cols = F.unfold(x, (kh, kw), plan.dilation, padding, plan.stride)
    if o == 0:  # F.conv2d refuses an empty weight with groups > 1
        return cols, torch.empty((n, 0, plan.out_h, plan.out_w), dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        out = F.conv2d(x, weight, bias, plan.stride, padding, plan.dilation, plan.groups)
    return cols, out


@implementation(
    "im2col_conv.backward", "library", "torch_fold", arrays="torch_cpu", requires=("torch",)
)
def im2col_conv_backward(grad_out: Any, weight: Any, H: Any, W: Any, opts: Im2colOptions) -> Any:
    """cols = W_gᵀ @ grad_out_g (torch.matmul), then F.fold onto the padded image, cropped."""
    dtype = BACKWARD_ARGS.check(grad_out, weight, H, W)
    plan = backward_plan(grad_out.shape, weight.shape, H, W, opts)
    n, o, oh, ow = grad_out.shape
    _, cg, kh, kw = weight.shape
    g, (t, b, left, r), c = plan.groups, plan.pads, cg * plan.groups
    if n == 0:  # F.fold refuses an empty batch
        return torch.empty((0, c, H, W), dtype=dtype)
    w = weight.to(dtype).reshape(g, o // g, cg * kh * kw).transpose(1, 2)
    cols = w.matmul(grad_out.to(dtype).reshape(n, g, o // g, oh * ow))
    size = (H + t + b, W + left + r)
    gx = F.fold(
        cols.reshape(n, c * kh * kw, oh * ow), size, (kh, kw), plan.dilation, 0, plan.stride
    )
    return gx[:, :, t : t + H, left : left + W].contiguous()
