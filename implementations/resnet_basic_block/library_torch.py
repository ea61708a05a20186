"""resnet_basic_block as torch nn.Modules in torchvision's BasicBlock layout (conv1, bn1,
relu, conv2, bn2, downsample = Sequential(1x1 conv, BN)), built on the meta device and
given the suite's arrays through load_state_dict(assign=True), run in eval mode. Option A
(zero_pad) is the paper's CIFAR shortcut, which torchvision does not have: it is written
as the LambdaLayer of the common CIFAR ResNets (subsample, F.pad over channels).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from harness import implementation
from suites.resnet_basic_block import EPS, BlockOptions, check


class BasicBlock(nn.Module):
    """torchvision's BasicBlock (expansion 1) with an optional option-A shortcut."""

    def __init__(self, c: int, o: int, stride: int, proj: bool, zero_pad: bool) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c, o, 3, stride, 1, bias=False, device="meta")
        self.bn1 = nn.BatchNorm2d(o, eps=EPS, device="meta")
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(o, o, 3, 1, 1, bias=False, device="meta")
        self.bn2 = nn.BatchNorm2d(o, eps=EPS, device="meta")
        self.downsample = None
        if proj:
            conv = nn.Conv2d(c, o, 1, stride, bias=False, device="meta")
            self.downsample = nn.Sequential(conv, nn.BatchNorm2d(o, eps=EPS, device="meta"))
        self.pad = ((o - c) // 2, o - c - (o - c) // 2) if zero_pad else None
        self.stride = stride

    def forward(self, x: Any) -> Any:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        elif self.pad is not None:
            identity = F.pad(x[:, :, :: self.stride, :: self.stride], (0, 0, 0, 0, *self.pad))
        else:
            identity = x
        return self.relu(out + identity)


def _bn_state(prefix: str, bn: Any) -> dict[str, Any]:
    names = ("weight", "bias", "running_mean", "running_var")
    state = {f"{prefix}.{k}": bn[i] for i, k in enumerate(names)}
    state[f"{prefix}.num_batches_tracked"] = torch.zeros((), dtype=torch.long, device=bn.device)
    return state


@implementation(
    "resnet_basic_block",
    "library",
    "torch_modules",
    arrays="torch_cpu",
    requires=("torch",),
    expected_failures={
        "no_out_channels": "nn.Conv2d refuses a weight with 0 output channels",
    },
)
def block(x: Any, w1: Any, bn1: Any, w2: Any, bn2: Any, w_proj: Any, bn_proj: Any,
          opts: BlockOptions) -> Any:  # fmt: skip
    """BasicBlock.eval()(x) under no_grad, parameters assigned by load_state_dict."""
    check(x, w1, bn1, w2, bn2, w_proj, bn_proj, opts)
    o, c = w1.shape[:2]
    proj, pad = w_proj is not None, opts.shortcut == "zero_pad" and (c != o or opts.stride != 1)
    module = BasicBlock(c, o, opts.stride, proj, pad)
    state = {"conv1.weight": w1, "conv2.weight": w2, **_bn_state("bn1", bn1),
             **_bn_state("bn2", bn2)}  # fmt: skip
    if proj:
        state |= {"downsample.0.weight": w_proj, **_bn_state("downsample.1", bn_proj)}
    module.load_state_dict(state, assign=True)
    with torch.no_grad():
        return module.eval()(x)
