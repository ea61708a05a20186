"""depthwise_separable_conv through torch.nn.functional.conv2d twice: groups=C, then 1 x 1,
then the channel shuffle as ShuffleNet writes it (view (N, g, O/g, H, W), transpose, flatten).

Symmetric padding goes to F.conv2d itself ('same' too at stride 1); asymmetric padding is
F.pad first. An integer image is widened to the result dtype first.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.depthwise_separable_conv import SeparableOptions, check


@implementation(
    "depthwise_separable_conv", "library", "torch", arrays="torch_cpu", requires=("torch",)
)
def separable(x: Any, w_dw: Any, b_dw: Any, w_pw: Any, b_pw: Any, opts: SeparableOptions) -> Any:
    """F.conv2d(x, w_dw, b_dw, stride, padding, dilation, groups=C), F.conv2d(., w_pw), shuffle."""
    dtype, plan = check(x, w_dw, b_dw, w_pw, b_pw, opts)
    x, w_dw, w_pw = x.to(dtype), w_dw.to(dtype), w_pw.to(dtype)
    b_dw = None if b_dw is None else b_dw.to(dtype)
    b_pw = None if b_pw is None else b_pw.to(dtype)
    if x.shape[0] == 0 or w_pw.shape[0] == 0:
        return torch.empty((x.shape[0], w_pw.shape[0], plan.out_h, plan.out_w), dtype=dtype)
    t, b, left, r = plan.pads
    padding: Any = (t, left)
    if opts.padding == "same" and plan.stride == (1, 1):
        padding = "same"
    elif (t, left) != (b, r):
        x = F.pad(x, (left, r, t, b))
        padding = (0, 0)
    with warnings.catch_warnings():  # 'same' with an even kernel: torch says it pads a copy
        warnings.simplefilter("ignore", UserWarning)
        mid = F.conv2d(x, w_dw, b_dw, plan.stride, padding, plan.dilation, x.shape[1])
    out = F.conv2d(mid, w_pw, b_pw)
    g = opts.shuffle_groups
    if g == 1:
        return out
    n, o, oh, ow = out.shape
    return out.reshape(n, g, o // g, oh, ow).transpose(1, 2).reshape(n, o, oh, ow)
