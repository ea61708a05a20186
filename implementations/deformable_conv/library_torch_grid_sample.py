"""deformable_conv through torch's own operators: F.grid_sample, then F.conv2d.

What a practitioner without torchvision writes: every (output position, tap) sample is a
pixel of a tap-expanded image (N, C, H_out·kH, W_out·kW), sample (y, x, i, j) at
(y·kH + i, x·kW + j), read by F.grid_sample (bilinear, zeros, align_corners=False with the
normalisation (2t + 1)/size − 1, so -1 and 1 are the image's outer edges) once per offset
group; the mask multiplies the expanded image, and F.conv2d with stride (kH, kW) and the
weight groups is the deformable convolution.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.deformable_conv import ARGS, DeformOptions, deform_plan


def _expand(t: Any, n: int, kh: int, kw: int, oh: int, ow: int) -> Any:
    """(N, K, H_out, W_out) per-tap maps -> (N, H_out·kH, W_out·kW), tap (i, j) inside."""
    return t.reshape(n, kh, kw, oh, ow).permute(0, 3, 1, 4, 2).reshape(n, oh * kh, ow * kw)


@implementation(
    "deformable_conv", "library", "torch_grid_sample", arrays="torch_cpu", requires=("torch",)
)
def deformable_conv(
    x: Any, offset: Any, weight: Any, bias: Any, mask: Any, opts: DeformOptions
) -> Any:
    """F.grid_sample(bilinear, zeros) of the tap-expanded image, then F.conv2d(stride=k)."""
    dtype = ARGS.check(x, offset, weight, bias, mask)
    plan = deform_plan(
        x.shape, offset.shape, weight.shape, None if mask is None else mask.shape, opts
    )
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    taps, g, oh, ow = kh * kw, plan.offset_groups, plan.out_h, plan.out_w
    if n == 0 or o == 0:
        return torch.zeros((n, o, oh, ow), dtype=dtype)
    (sh, sw), (ph, pw), (dh, dw) = opts.stride, opts.padding, opts.dilation
    base_y = (torch.arange(oh, dtype=dtype) * sh - ph)[:, None] + torch.arange(kh) * dh
    base_x = (torch.arange(ow, dtype=dtype) * sw - pw)[:, None] + torch.arange(kw) * dw
    base_y = base_y.reshape(1, oh * kh, 1).to(dtype)  # row y·kH + i
    base_x = base_x.reshape(1, 1, ow * kw).to(dtype)  # column x·kW + j
    off = offset.to(dtype).reshape(n, g, taps, 2, oh, ow)
    cg = c // g
    parts = []
    for gi in range(g):
        y = base_y + _expand(off[:, gi, :, 0], n, kh, kw, oh, ow)
        xs = base_x + _expand(off[:, gi, :, 1], n, kh, kw, oh, ow)
        grid = torch.stack([(2 * xs + 1) / w - 1, (2 * y + 1) / h - 1], dim=-1)
        part = x[:, gi * cg : (gi + 1) * cg].to(dtype)
        parts.append(
            F.grid_sample(part, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        )
    expanded = parts[0] if g == 1 else torch.cat(parts, dim=1)
    if mask is not None:
        m = mask.to(dtype).reshape(n, g, taps, oh, ow)
        m = torch.stack([_expand(m[:, gi], n, kh, kw, oh, ow) for gi in range(g)], dim=1)
        expanded = (expanded.reshape(n, g, cg, oh * kh, ow * kw) * m[:, :, None]).reshape(
            n, c, oh * kh, ow * kw
        )
    b = None if bias is None else bias.to(dtype)
    return F.conv2d(expanded, weight.to(dtype), b, stride=(kh, kw), groups=plan.groups)
