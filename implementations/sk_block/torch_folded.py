"""sk_block in torch on any device: eval BatchNorm folded into each branch conv's weight and
bias, F.conv2d (grouped, dilated) + ReLU per branch, the squeeze as two small matmuls, the
selection softmax over a stacked (M, N, C) tensor and the mix accumulated in place.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.sk_block import BN_EPS, SkOptions, check, dilation


def _fold(params: Any) -> tuple[Any, Any]:
    """Eval BatchNorm as y = t·scale + shift."""
    weight, bias, mean, var = params
    scale = weight / torch.sqrt(var + BN_EPS)
    return scale, bias - mean * scale


@implementation("sk_block", ("torch_cpu", "torch_cuda"), "folded")
def sk(
    x: Any, conv_w: Any, bn_u: Any, fc_w: Any, bn_z: Any, sel_w: Any, sel_b: Any,
    groups: int, reduction: int, min_width: int, opts: SkOptions,
) -> Any:  # fmt: skip
    """Folded conv + ReLU per branch, mean over H·W, ReLU(folded fc), softmax over branches."""
    check(x, conv_w, bn_u, fc_w, bn_z, sel_w, sel_b, groups, reduction, min_width, opts)
    if x.numel() == 0:
        return torch.zeros_like(x)
    branches = []
    for m, w in enumerate(conv_w):
        scale, shift = _fold(bn_u[m])
        d = dilation(m, opts)
        pad = d * (w.shape[-1] - 1) // 2
        u = F.conv2d(x, w * scale[:, None, None, None], shift, padding=pad, dilation=d,
                     groups=groups)  # fmt: skip
        branches.append(u.relu_())
    total = branches[0].clone()
    for u in branches[1:]:
        total += u
    s = total.mean(dim=(2, 3))  # (N, C)
    scale, shift = _fold(bn_z)
    z = torch.relu(s @ (fc_w * scale[:, None]).T + shift)  # (N, D)
    logits = torch.matmul(z, sel_w.transpose(1, 2))  # (M, N, C)
    if sel_b is not None:
        logits += sel_b[:, None, :]
    a = torch.softmax(logits, dim=0)
    out = branches[0].mul_(a[0][:, :, None, None])
    for m in range(1, len(branches)):
        out.addcmul_(branches[m], a[m][:, :, None, None])
    return out
