"""resnet_basic_block.network in functional torch (CPU and CUDA, one code): every eval-mode
BN folded into its convolution's weight and a bias, so the network is a chain of F.conv2d
calls with in-place ReLUs and shortcut adds, F.max_pool2d, a mean over H and W and one
F.linear; option A's shortcut adds the subsampled input into the middle channels in place.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.resnet_basic_block import EPS, NetOptions, network_blocks, network_check


def _fold(w: Any, bn: list[Any]) -> tuple[Any, Any]:
    gamma, beta, mean, var = bn
    scale = gamma * torch.rsqrt(var + EPS)
    return w * scale[:, None, None, None], beta - mean * scale


@implementation("resnet_basic_block.network", ("torch_cpu", "torch_cuda"), "bn_folded")
def network(x: Any, params: Any, fc_w: Any, fc_b: Any, opts: NetOptions) -> Any:
    """Folded stem conv -> relu_ -> max-pool -> folded blocks -> mean -> linear."""
    network_check(x, params, fc_w, fc_b, opts)
    it = iter(params)

    def conv_bn() -> tuple[Any, Any]:
        w = next(it)
        return _fold(w, [next(it) for _ in range(4)])

    k, b = conv_bn()
    h = F.max_pool2d(F.conv2d(x, k, b, 2, 3).relu_(), 3, 2, 1)
    for blk in network_blocks(opts.depth, opts.shortcut, int(params[0].shape[0])):
        (k1, b1), (k2, b2) = conv_bn(), conv_bn()
        out = F.conv2d(F.conv2d(h, k1, b1, blk.stride, 1).relu_(), k2, b2, 1, 1)
        if blk.proj:
            kp, bp = conv_bn()
            out += F.conv2d(h, kp, bp, blk.stride)
        elif blk.c != blk.o or blk.stride != 1:  # option A: zero channels around the input
            before = (blk.o - blk.c) // 2
            out[:, before : before + blk.c] += h[:, :, :: blk.stride, :: blk.stride]
        else:
            out += h
        h = out.relu_()
    return F.linear(h.mean(dim=(2, 3)), fc_w, fc_b)
