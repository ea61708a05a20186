"""roi_align through torch.nn.functional.grid_sample: what a practitioner without torchvision
writes (a RoI's samples as a sampling grid, then a mean over each bin).

Per image and sampling-grid size, the samples of all its RoIs form one grid of shape
(1, RoIs * Sy, Sx, 2) in normalised coordinates (align_corners=True: -1 and 1 are the first
and last pixel centres). padding_mode="border" clamps into the map, which is Detectron's
rule inside [-1, size]; samples beyond it are masked to 0 afterwards.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.roi_align import RoiAlignOptions, check_rois


def _normalised(coord: Any, size: int) -> Any:
    return coord * (2.0 / (size - 1)) - 1.0 if size > 1 else torch.zeros_like(coord)


def _offsets(pooled: int, grid: int, dtype: Any) -> tuple[Any, Any]:
    p = torch.arange(pooled, dtype=dtype).repeat_interleave(grid)
    return p, (torch.arange(grid, dtype=dtype) + 0.5).repeat(pooled)


@implementation(
    "roi_align", "library", "torch_grid_sample", arrays="torch_cpu", requires=("torch",)
)
def roi_align(features: Any, rois: Any, pooled_height: int, pooled_width: int,
              spatial_scale: float, sampling_ratio: int, opts: RoiAlignOptions) -> Any:  # fmt: skip
    """F.grid_sample(bilinear, border, align_corners=True) per (image, grid), masked, pooled."""
    dtype = check_rois(features, rois, pooled_height, pooled_width, spatial_scale, sampling_ratio)
    (_, c, h, w), k, ph, pw = features.shape, rois.shape[0], pooled_height, pooled_width
    out = features.new_zeros((k, c, ph, pw), dtype=dtype)
    r = rois.to(torch.float64)  # geometry in float64, samples read in the features' dtype
    off = 0.5 if opts.aligned else 0.0
    x1, y1 = r[:, 1] * spatial_scale - off, r[:, 2] * spatial_scale - off
    roi_w, roi_h = r[:, 3] * spatial_scale - off - x1, r[:, 4] * spatial_scale - off - y1
    if not opts.aligned:
        roi_w, roi_h = roi_w.clamp(min=1.0), roi_h.clamp(min=1.0)
    bin_h, bin_w = roi_h / ph, roi_w / pw
    groups: dict[tuple[int, int, int], list[int]] = {}
    for i, (b, bh, bw) in enumerate(
        zip(r[:, 0].tolist(), bin_h.tolist(), bin_w.tolist(), strict=True)
    ):
        gh = sampling_ratio if sampling_ratio > 0 else math.ceil(bh)
        gw = sampling_ratio if sampling_ratio > 0 else math.ceil(bw)
        if gh > 0 and gw > 0 and c > 0:
            groups.setdefault((int(b), gh, gw), []).append(i)
    for (b, gh, gw), members in groups.items():
        sel = torch.tensor(members)
        py, iy = _offsets(ph, gh, torch.float64)
        px, ix = _offsets(pw, gw, torch.float64)
        ys = y1[sel, None] + py * bin_h[sel, None] + iy * bin_h[sel, None] / gh  # (m, Sy)
        xs = x1[sel, None] + px * bin_w[sel, None] + ix * bin_w[sel, None] / gw  # (m, Sx)
        m, sy, sx = len(members), ph * gh, pw * gw
        grid = torch.stack(
            [
                _normalised(xs, w)[:, None, :].expand(m, sy, sx),
                _normalised(ys, h)[:, :, None].expand(m, sy, sx),
            ],
            dim=-1,
        ).reshape(1, m * sy, sx, 2)
        vals = F.grid_sample(
            features[b : b + 1].to(dtype), grid.to(dtype), "bilinear", "border", True
        ).reshape(c, m, sy, sx)
        inside = ((ys >= -1) & (ys <= h))[:, :, None] & ((xs >= -1) & (xs <= w))[:, None, :]
        vals = vals * inside.to(dtype)
        bins = vals.reshape(c, m, ph, gh, pw, gw)
        pooled = bins.amax(dim=(3, 5)) if opts.pool_mode == "max" else bins.mean(dim=(3, 5))
        out[sel] = pooled.permute(1, 0, 2, 3)
    return out
