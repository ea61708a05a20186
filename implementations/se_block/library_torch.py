"""Squeeze-and-excitation as a torch module built from nn layers, the suite's weights loaded
with load_state_dict (the layout of torchvision.ops.SqueezeExcitation: avgpool, fc1, ReLU,
fc2, scale activation, with 1x1 convolutions). The module is built on the meta device, so no
weight is ever initialised, and the input tensors are assigned as its parameters.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from harness import implementation
from suites.se_block import SeOptions, check


class SqueezeExcitation(nn.Module):
    """avgpool -> fc1 (1x1 conv) -> ReLU -> fc2 (1x1 conv) -> gate; returns x * gate."""

    def __init__(self, c: int, d: int, bias1: bool, bias2: bool, gate: nn.Module) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, d, 1, bias=bias1, device="meta")
        self.activation = nn.ReLU()
        self.fc2 = nn.Conv2d(d, c, 1, bias=bias2, device="meta")
        self.scale_activation = gate

    def forward(self, x: Any) -> Any:
        s = self.fc2(self.activation(self.fc1(self.avgpool(x))))
        return x * self.scale_activation(s)


@implementation(
    "se_block",
    "library",
    "torch",
    arrays="torch_cpu",
    requires=("torch",),
    expected_failures={"no_channels": "nn.Conv2d refuses a weight with 0 output channels"},
)
def se(x: Any, w1: Any, b1: Any, w2: Any, b2: Any, reduction: int, opts: SeOptions) -> Any:
    """The module's forward in eval mode without autograd; Sigmoid or Hardsigmoid gate."""
    check(x, w1, b1, w2, b2, reduction, opts)
    (d, c), gate = w1.shape, nn.Sigmoid() if opts.gate == "sigmoid" else nn.Hardsigmoid()
    module = SqueezeExcitation(c, d, b1 is not None, b2 is not None, gate)
    state = {"fc1.weight": w1.reshape(d, c, 1, 1), "fc2.weight": w2.reshape(c, d, 1, 1)}
    state.update({k: v for k, v in (("fc1.bias", b1), ("fc2.bias", b2)) if v is not None})
    module.load_state_dict(state, assign=True)
    with torch.no_grad():
        return module.eval()(x)
