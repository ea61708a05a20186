"""roi_align.backward in torch: the forward's sample geometry, then one index_add_ per
bilinear corner into a channels-last (N*H*W, C) gradient table.

RoIs are grouped by sampling grid and done in chunks, as the gather forward; every sample's
share grad / (grid_h * grid_w) times its corner weight is added to the corner's row (C
contiguous values). The same code runs on CPU and CUDA tensors (atomics on CUDA).
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.roi_align import RoiAlignBackwardOptions, check_backward

_CHUNK_ELEMENTS = 1 << 21  # scattered values per corner and chunk (8 MiB of float32)


def _axis(coord: torch.Tensor, size: int) -> tuple[torch.Tensor, ...]:
    """Detectron's rule: (low, high, weight of low, weight of high); 0 weights outside."""
    inside = (coord >= -1.0) & (coord <= size)
    c = coord.clamp_min(0.0)
    low = c.floor().long()
    pinned = low >= size - 1
    low = torch.where(pinned, size - 1, low)
    high = torch.where(pinned, low, low + 1)
    frac = torch.where(pinned, 0.0, c - low.to(c.dtype))
    return low, high, torch.where(inside, 1.0 - frac, 0.0), torch.where(inside, frac, 0.0)


def _samples(start: torch.Tensor, bin_size: torch.Tensor, pooled: int, grid: int) -> Any:
    """(m, pooled * grid) coordinates, bin-major: start + p*bin + (i + 0.5)*bin/grid."""
    dev, dtype = start.device, start.dtype
    p = torch.arange(pooled, device=dev, dtype=dtype).repeat_interleave(grid)
    i = (torch.arange(grid, device=dev, dtype=dtype) + 0.5).repeat(pooled)
    b = bin_size[:, None]
    return start[:, None] + p[None, :] * b + i[None, :] * b / grid


@implementation("roi_align.backward", ("torch_cpu", "torch_cuda"), "scatter")
def roi_align_backward(features: Any, rois: Any, grad: Any, pooled_height: int,
                       pooled_width: int, spatial_scale: float, sampling_ratio: int,
                       opts: RoiAlignBackwardOptions) -> Any:  # fmt: skip
    """Grid-grouped, chunked 4-corner index_add_ into a channels-last gradient table."""
    dtype = check_backward(features, rois, grad, pooled_height, pooled_width, spatial_scale,
                           sampling_ratio)  # fmt: skip
    (n, c, h, w), k, ph, pw = features.shape, rois.shape[0], pooled_height, pooled_width
    dev = features.device
    table = torch.zeros((n * h * w, c), dtype=dtype, device=dev)
    if k == 0 or c == 0:
        return table.reshape(n, h, w, c).permute(0, 3, 1, 2).contiguous()
    r = rois.to(dtype)
    g = grad.to(dtype).permute(0, 2, 3, 1)  # (K, ph, pw, C)
    off = 0.5 if opts.aligned else 0.0
    x1, y1 = r[:, 1] * spatial_scale - off, r[:, 2] * spatial_scale - off
    roi_w, roi_h = r[:, 3] * spatial_scale - off - x1, r[:, 4] * spatial_scale - off - y1
    if not opts.aligned:
        roi_w, roi_h = roi_w.clamp_min(1.0), roi_h.clamp_min(1.0)
    bin_h, bin_w = roi_h / ph, roi_w / pw
    if sampling_ratio > 0:
        grids = [(sampling_ratio, sampling_ratio)] * k
    else:
        gh, gw = (b.ceil().clamp_min(0.0).tolist() for b in (bin_h, bin_w))
        grids = [(int(a), int(b)) for a, b in zip(gh, gw, strict=True)]
    groups: dict[tuple[int, int], list[int]] = {}
    for i, grid in enumerate(grids):
        if grid[0] > 0 and grid[1] > 0:  # an empty grid sends nothing
            groups.setdefault(grid, []).append(i)
    batch = r[:, 0].long()
    for (gh_, gw_), members in groups.items():
        step = max(1, _CHUNK_ELEMENTS // (ph * gh_ * pw * gw_ * max(c, 1)))
        for s in range(0, len(members), step):
            sel = torch.tensor(members[s : s + step], dtype=torch.int64, device=dev)
            y_lo, y_hi, wy_lo, wy_hi = _axis(_samples(y1[sel], bin_h[sel], ph, gh_), h)
            x_lo, x_hi, wx_lo, wx_hi = _axis(_samples(x1[sel], bin_w[sel], pw, gw_), w)
            share = g[sel] / (gh_ * gw_)  # (m, ph, pw, C) -> every sample of its bin
            share = share.repeat_interleave(gh_, dim=1).repeat_interleave(gw_, dim=2)
            base = batch[sel][:, None] * h
            for yi, wy in ((y_lo, wy_lo), (y_hi, wy_hi)):
                rows = (base + yi) * w  # (m, SY)
                for xi, wx in ((x_lo, wx_lo), (x_hi, wx_hi)):
                    flat = (rows[:, :, None] + xi[:, None, :]).reshape(-1)
                    weight = (wy[:, :, None] * wx[:, None, :])[..., None]
                    table.index_add_(0, flat, (weight * share).reshape(-1, c))
    return table.reshape(n, h, w, c).permute(0, 3, 1, 2).contiguous()
