"""conv2d_direct through torch.nn.functional.conv2d (oneDNN on CPU), as nn.Conv2d calls it.

Symmetric zero padding goes to F.conv2d itself, padding='same' too where torch allows it
(stride 1); asymmetric padding and the other padding modes are F.pad first, then a padding-0
convolution (what nn.Conv2d does for padding_mode != 'zeros'). An integer image is widened to
the result dtype first (F.conv2d wants one dtype).
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.conv2d_direct import ARGS, ConvOptions, conv_plan

_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate",
          "circular": "circular"}  # fmt: skip


@implementation("conv2d_direct", "library", "torch", arrays="torch_cpu", requires=("torch",))
def conv2d(x: Any, weight: Any, bias: Any, opts: ConvOptions) -> Any:
    """F.conv2d(x, w, b, stride, padding, dilation, groups), F.pad for what it cannot pad."""
    dtype = ARGS.check(x, weight, bias)
    plan = conv_plan(x.shape, weight.shape, opts)
    x, weight = x.to(dtype), weight.to(dtype)
    bias = None if bias is None else bias.to(dtype)
    n, o = x.shape[0], weight.shape[0]
    if o == 0:  # torch refuses an empty weight with groups > 1
        return torch.empty((n, 0, plan.out_h, plan.out_w), dtype=dtype, device=x.device)
    t, b, left, r = plan.pads
    padding: Any = (t, left)
    if opts.padding == "same" and plan.stride == (1, 1):
        padding = "same"
    elif opts.padding_mode != "zeros" or (t, left) != (b, r):
        x = F.pad(x, (left, r, t, b), mode=_MODES[opts.padding_mode])
        padding = (0, 0)
    with warnings.catch_warnings():  # 'same' with an even kernel: torch says it pads a copy
        warnings.simplefilter("ignore", UserWarning)
        return F.conv2d(x, weight, bias, plan.stride, padding, plan.dilation, plan.groups)
