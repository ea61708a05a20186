"""resnet_basic_block in torch (CPU and CUDA, one code), BN folded into the convolutions:
each eval-mode BN becomes a per-channel scale on its conv's weight and a bias (one small
pass over the weights), so the block is two F.conv2d calls with bias, the shortcut (a
third, 1x1 conv with folded BN, or the input itself), one in-place add and two in-place
ReLUs: no separate BN passes over the activations.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.resnet_basic_block import EPS, BlockOptions, check


def _fold(w: Any, bn: Any) -> tuple[Any, Any]:
    scale = bn[0] * torch.rsqrt(bn[3] + EPS)
    return w * scale[:, None, None, None], bn[1] - bn[2] * scale


@implementation("resnet_basic_block", ("torch_cpu", "torch_cuda"), "bn_folded")
def block(x: Any, w1: Any, bn1: Any, w2: Any, bn2: Any, w_proj: Any, bn_proj: Any,
          opts: BlockOptions) -> Any:  # fmt: skip
    """conv+BN folded: conv(s) -> relu_ -> conv -> add_ shortcut -> relu_."""
    check(x, w1, bn1, w2, bn2, w_proj, bn_proj, opts)
    s, (o, c) = opts.stride, w1.shape[:2]
    if o == 0:  # F.conv2d refuses a weight without output channels
        n, _, h, w = x.shape
        return x.new_empty((n, 0, (h - 1) // s + 1, (w - 1) // s + 1))
    k1, b1 = _fold(w1, bn1)
    k2, b2 = _fold(w2, bn2)
    out = F.conv2d(x, k1, b1, s, 1).relu_()
    out = F.conv2d(out, k2, b2, 1, 1)
    if w_proj is not None:
        kp, bp = _fold(w_proj, bn_proj)
        out += F.conv2d(x, kp, bp, s)
    elif o != c or s != 1:  # option A: subsample, zero channels around the input ones
        before = (o - c) // 2
        out[:, before : before + c] += x[:, :, ::s, ::s]
    else:
        out += x
    return out.relu_()
