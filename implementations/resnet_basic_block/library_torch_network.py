"""resnet_basic_block.network as a torch nn.Module with torchvision's ResNet layout and
module names (conv1, bn1, relu, maxpool, layer1..layer4 of BasicBlocks, avgpool, fc), built
on the meta device from nn.Conv2d/BatchNorm2d/MaxPool2d/AdaptiveAvgPool2d/Linear and the
block module of library_torch.py, given the suite's arrays through
load_state_dict(assign=True) under torchvision's state_dict keys, run in eval mode.
torchvision itself is not a dependency: its resnet18/34 would load the same state_dict.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import nn

from harness import implementation
from implementations.resnet_basic_block.library_torch import BasicBlock
from suites.resnet_basic_block import (
    BN_KEYS,
    EPS,
    NetOptions,
    network_blocks,
    network_check,
    network_layout,
)


class ResNet(nn.Module):
    """torchvision's ResNet with BasicBlock (expansion 1), of any stem width; option A
    blocks carry no downsample and pad the identity's channels instead."""

    def __init__(self, depth: int, shortcut: str, width: int, c_in: int, classes: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, width, 7, 2, 3, bias=False, device="meta")
        self.bn1 = nn.BatchNorm2d(width, eps=EPS, device="meta")
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        blocks = network_blocks(depth, shortcut, width)

        def stage(k: int) -> nn.Sequential:
            mine = [b for b in blocks if b.prefix.startswith(f"layer{k}.")]
            pad = [not b.proj and b.c != b.o for b in mine]  # option A where the width changes
            return nn.Sequential(*(BasicBlock(b.c, b.o, b.stride, b.proj, z)
                                   for b, z in zip(mine, pad, strict=True)))  # fmt: skip

        self.layer1, self.layer2, self.layer3, self.layer4 = (stage(k) for k in range(1, 5))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        with warnings.catch_warnings():  # no classes: nn.Linear's init has nothing to fill
            warnings.filterwarnings(
                "ignore", "Initializing zero-element tensors is a no-op", UserWarning
            )
            self.fc = nn.Linear(8 * width, classes, device="meta")

    def forward(self, x: Any) -> Any:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def state_dict_of(params: Any, fc_w: Any, fc_b: Any, opts: NetOptions, c_in: int) -> dict[str, Any]:
    """The suite's arrays under torchvision's keys, num_batches_tracked filled in."""
    width = int(params[0].shape[0])
    keys = [k for k, _ in network_layout(opts.depth, opts.shortcut, width, c_in)]
    state = dict(zip(keys, params, strict=True))
    for key in [k for k in keys if k.endswith(f".{BN_KEYS[-1]}")]:
        prefix = key.rsplit(".", 1)[0]
        state[f"{prefix}.num_batches_tracked"] = torch.zeros((), dtype=torch.long)
    return state | {"fc.weight": fc_w, "fc.bias": fc_b}


@implementation(
    "resnet_basic_block.network",
    "library",
    "torch_modules",
    arrays="torch_cpu",
    requires=("torch",),
)
def network(x: Any, params: Any, fc_w: Any, fc_b: Any, opts: NetOptions) -> Any:
    """ResNet(...).eval()(x) under no_grad, parameters assigned by load_state_dict."""
    network_check(x, params, fc_w, fc_b, opts)
    c_in, width = int(x.shape[1]), int(params[0].shape[0])
    module = ResNet(opts.depth, opts.shortcut, width, c_in, int(fc_w.shape[0]))
    module.load_state_dict(state_dict_of(params, fc_w, fc_b, opts, c_in), assign=True)
    with torch.no_grad():
        return module.eval()(x)
