"""SKConv as a torch module (the layout of the common SKNet implementations: per branch
Conv2d(bias=False) + BatchNorm2d + ReLU, AdaptiveAvgPool2d, fc = Conv2d 1x1 + BatchNorm2d +
ReLU, one 1x1 Conv2d per branch, softmax over the branch axis), built on the meta device and
given the suite's weights with load_state_dict(assign=True); run in eval mode.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from harness import implementation
from suites.sk_block import BN_EPS, SkOptions, check, dilation


class SKConv(nn.Module):
    def __init__(
        self, c: int, d: int, kernels: list[int], dilations: list[int], groups: int, bias: bool
    ) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(c, c, k, padding=dil * (k - 1) // 2, dilation=dil, groups=groups,
                          bias=False, device="meta"),
                nn.BatchNorm2d(c, eps=BN_EPS, device="meta"),
                nn.ReLU(),
            )
            for k, dil in zip(kernels, dilations, strict=True)
        )  # fmt: skip
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(
            nn.Conv2d(c, d, 1, bias=False, device="meta"),
            nn.BatchNorm2d(d, eps=BN_EPS, device="meta"),
            nn.ReLU(),
        )
        self.fcs = nn.ModuleList(nn.Conv2d(d, c, 1, bias=bias, device="meta") for _ in kernels)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x: Any) -> Any:
        feats = torch.stack([conv(x) for conv in self.convs], dim=1)  # (N, M, C, H, W)
        z = self.fc(self.gap(feats.sum(dim=1)))
        attention = self.softmax(torch.stack([fc(z) for fc in self.fcs], dim=1))
        return (feats * attention).sum(dim=1)


def _bn_state(prefix: str, params: Any) -> dict[str, Any]:
    names = ("weight", "bias", "running_mean", "running_var")
    state = {f"{prefix}.{n}": params[i] for i, n in enumerate(names)}
    state[f"{prefix}.num_batches_tracked"] = torch.tensor(0)
    return state


@implementation(
    "sk_block",
    "library",
    "torch",
    arrays="torch_cpu",
    requires=("torch",),
    expected_failures={
        "no_channels": "nn.Conv2d refuses 0 channels",
        "no_rows": "nn.Conv2d refuses an input smaller than its kernel after padding",
        "no_columns": "nn.Conv2d refuses an input smaller than its kernel after padding",
    },
)
def sk(
    x: Any, conv_w: Any, bn_u: Any, fc_w: Any, bn_z: Any, sel_w: Any, sel_b: Any,
    groups: int, reduction: int, min_width: int, opts: SkOptions,
) -> Any:  # fmt: skip
    """The SKConv module's forward in eval mode without autograd."""
    check(x, conv_w, bn_u, fc_w, bn_z, sel_w, sel_b, groups, reduction, min_width, opts)
    c, d = x.shape[1], fc_w.shape[0]
    kernels = [int(w.shape[-1]) for w in conv_w]
    dilations = [dilation(m, opts) for m in range(len(conv_w))]
    module = SKConv(c, d, kernels, dilations, groups, sel_b is not None)
    state: dict[str, Any] = {"fc.0.weight": fc_w[:, :, None, None]}
    state.update(_bn_state("fc.1", bn_z))
    for m, w in enumerate(conv_w):
        state[f"convs.{m}.0.weight"] = w
        state.update(_bn_state(f"convs.{m}.1", bn_u[m]))
        state[f"fcs.{m}.weight"] = sel_w[m][:, :, None, None]
        if sel_b is not None:
            state[f"fcs.{m}.bias"] = sel_b[m]
    module.load_state_dict(state, assign=True)
    with torch.no_grad():
        return module.eval()(x)
