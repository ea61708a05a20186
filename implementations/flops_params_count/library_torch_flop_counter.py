"""flops_params_count with torch.utils.flop_counter.FlopCounterMode: each row's module
(nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.BatchNorm2d in eval mode, nn.ReLU,
nn.MaxPool2d, nn.AvgPool2d, torch.bmm for a batched product, nn.GroupNorm, nn.LayerNorm,
nn.InstanceNorm2d, nn.LSTM, nn.Sigmoid, nn.Softmax, a product x·x) built on the meta device
and run on a meta input of the row's shape under the counter (no memory, no
arithmetic); parameters are the module's parameters' numel. FlopCounterMode counts no
elementwise work (the norms, sigmoid, softmax and products count 0).

nn.LSTM is counted on the meta device on purpose: there aten::lstm decomposes into one
addmm/mm per step, which the counter sees. On CPU tensors torch 2.13 runs a fused LSTM
kernel the counter has no formula for and reports 0 FLOPs. Deformable conv rows are
refused (NotImplementedError): torch has no deform_conv2d and torchvision's custom op has
no FlopCounterMode formula either, so no library count exists to compare with.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from harness import implementation
from suites.flops_params_count import CountOptions, check


def _module(row: list[int]) -> tuple[nn.Module, tuple[int, ...]]:
    kind, n, ci, h, w, co, kh, kw, s, p, d, g, b = row
    meta = torch.device("meta")
    if kind == 0:
        return nn.Conv2d(ci, co, (kh, kw), s, p, d, g, bool(b), device=meta), (n, ci, h, w)
    if kind == 1:
        return nn.Linear(ci, co, bool(b), device=meta), (n, h * w, ci)
    if kind == 2:
        conv = nn.ConvTranspose2d(ci, co, (kh, kw), s, p, 0, g, bool(b), d, device=meta)
        return conv, (n, ci, h, w)
    if kind == 3:
        return nn.BatchNorm2d(ci, affine=bool(b), device=meta).eval(), (n, ci, h, w)
    if kind == 4:
        return nn.ReLU(), (n, ci, h, w)
    if kind == 5:
        return nn.MaxPool2d((kh, kw), s, p, d), (n, ci, h, w)
    if kind == 6:
        return nn.AvgPool2d((kh, kw), s, p), (n, ci, h, w)
    if kind == 8:
        return nn.GroupNorm(g, ci, affine=bool(b), device=meta), (n, ci, h, w)
    if kind == 9:
        return nn.LayerNorm(ci, elementwise_affine=bool(b), device=meta), (n, h * w, ci)
    if kind == 10:
        return nn.InstanceNorm2d(ci, affine=bool(b), device=meta), (n, ci, h, w)
    if kind == 11:
        return nn.LSTM(ci, co, bias=bool(b), device=meta), (h * w, n, ci)
    if kind == 12:
        raise NotImplementedError("FlopCounterMode cannot count a deformable conv")
    if kind == 13:
        return nn.Sigmoid(), (n, ci, h, w)
    if kind == 14:
        return nn.Softmax(dim=1), (n, ci, h, w)
    if kind == 15:
        return _Square(), (n, ci, h, w)
    return _Bmm(torch.empty((n, ci, co), device=meta)), (n, h * w, ci)


class _Square(nn.Module):
    """x * x: a binary elementwise product of two maps of the row's shape."""

    def forward(self, x: Any) -> Any:
        return x * x


class _Bmm(nn.Module):
    """torch.bmm(x, other) with a fixed meta right-hand side: a batched product, no
    parameters (the right operand is a buffer-free attribute)."""

    def __init__(self, other: Any) -> None:
        super().__init__()
        self.other = other

    def forward(self, x: Any) -> Any:
        return torch.bmm(x, self.other)


@implementation(
    "flops_params_count",
    "library",
    "torch_flop_counter",
    arrays="numpy",
    requires=("torch",),
    supports={"elementwise": ("excluded",)},
    expected_failures={"random_deform": "deformable conv: no library FLOP count (refused)"},
)
def count(layers: Any, opts: CountOptions) -> Any:
    """FlopCounterMode's total per row (halved for MACs); Σ numel of the parameters."""
    rows = check(layers, opts)
    result = []
    for row in rows:
        module, shape = _module(row)
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            module(torch.empty(shape, device="meta"))
        flops = int(counter.get_total_flops()) * opts.mac_flops // 2
        result.append((flops, sum(int(t.numel()) for t in module.parameters())))
    return np.array(result, dtype=np.int64).reshape(len(result), 2)
