"""DANet's channel attention module (CAM_Module of the authors' code, written out here from
its published description) as a torch nn.Module, the suite's gamma loaded as its parameter.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from harness import implementation
from suites.danet_channel_attention import ARGS


class ChannelAttention(nn.Module):
    """energy = bmm(A, Aᵀ); softmax(max(energy) - energy); gamma·bmm(attention, A) + x."""

    def __init__(self) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1))
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x: Any) -> Any:
        b, c, h, w = x.size()
        query = x.view(b, c, -1)
        energy = torch.bmm(query, query.permute(0, 2, 1))
        energy_new = torch.max(energy, -1, keepdim=True)[0].expand_as(energy) - energy
        attention = self.softmax(energy_new)
        out = torch.bmm(attention, x.view(b, c, -1)).view(b, c, h, w)
        return self.gamma * out + x


@implementation(
    "danet_channel_attention",
    "library",
    "torch",
    arrays="torch_cpu",
    requires=("torch",),
    expected_failures={
        "empty_batch": "the published x.view(b, c, -1) cannot infer -1 from 0 elements",
        "no_channels": "the published x.view(b, c, -1) cannot infer -1 from 0 elements",
    },
)
def channel_attention(x: Any, gamma: Any) -> Any:
    """The module in eval mode without autograd, gamma assigned to its parameter."""
    ARGS.check(x, gamma)
    module = ChannelAttention().to(x.dtype)
    with torch.no_grad():
        module.gamma.fill_(float(gamma))
        return module.eval()(x)
