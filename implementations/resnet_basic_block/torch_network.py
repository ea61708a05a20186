"""resnet_basic_block.network in functional torch (CPU and CUDA, one code): each eval-mode
BN becomes a per-channel scale and shift, applied where it is cheaper: folded into the
convolution's weight and bias when the weight has fewer elements than the convolution's
output (the stem and early stages of large images), else as one in-place multiply-add on
the output (the deep stages, and small images, where folding would rewrite millions of
weights each call). Then in-place ReLUs and shortcut adds, F.max_pool2d, a mean over H and
W and one F.linear; option A's shortcut adds the subsampled input into the middle channels
in place.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.resnet_basic_block import EPS, NetOptions, network_blocks, network_check


def _conv_bn(x: Any, it: Iterator[Any], stride: int, pad: int) -> Any:
    """conv (no bias) + eval BN from the next five params: weight, then BN's four rows."""
    w = next(it)
    gamma, beta, mean, var = (next(it) for _ in range(4))
    scale = gamma * torch.rsqrt(var + EPS)
    shift = beta - mean * scale
    n, _, h, wd = x.shape
    k = w.shape[2]
    outs = n * w.shape[0] * ((h + 2 * pad - k) // stride + 1) * ((wd + 2 * pad - k) // stride + 1)
    if w.numel() <= outs:  # folding rewrites the weight: cheaper than a pass over the output
        return F.conv2d(x, w * scale[:, None, None, None], shift, stride, pad)
    out = F.conv2d(x, w, None, stride, pad)
    return out.mul_(scale[:, None, None]).add_(shift[:, None, None])


@implementation("resnet_basic_block.network", ("torch_cpu", "torch_cuda"), "bn_fold_or_scale")
def network(x: Any, params: Any, fc_w: Any, fc_b: Any, opts: NetOptions) -> Any:
    """Stem conv+BN -> relu_ -> max-pool -> blocks (conv+BN each) -> mean -> linear."""
    network_check(x, params, fc_w, fc_b, opts)
    it = iter(params)
    h = F.max_pool2d(_conv_bn(x, it, 2, 3).relu_(), 3, 2, 1)
    for blk in network_blocks(opts.depth, opts.shortcut, int(params[0].shape[0])):
        out = _conv_bn(_conv_bn(h, it, blk.stride, 1).relu_(), it, 1, 1)
        if blk.proj:
            out += _conv_bn(h, it, blk.stride, 0)
        elif blk.c != blk.o or blk.stride != 1:  # option A: zero channels around the input
            before = (blk.o - blk.c) // 2
            out[:, before : before + blk.c] += h[:, :, :: blk.stride, :: blk.stride]
        else:
            out += h
        h = out.relu_()
    return F.linear(h.mean(dim=(2, 3)), fc_w, fc_b)
