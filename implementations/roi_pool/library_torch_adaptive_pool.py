"""roi_pool through torch's adaptive pooling: what a practitioner without torchvision writes.

F.adaptive_max_pool2d splits an R x R input into bins [floor(p*R/P), ceil((p+1)*R/P)) in
exact integer arithmetic: Caffe's quantisation. Each RoI's rounded R_h x R_w window is cut
from the map, padded where it leaves the map (-inf for max, 0 and a 0/1 mask for avg), and
pooled in one call; bins that lie wholly off the map are set to 0.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.roi_pool import FLT_MAX, RoiPoolOptions, check_rois, roi_cells


def _window(fmap: Any, start: tuple[int, int], cells: tuple[int, int], fill: float) -> Any:
    """fmap (C, H, W) cut to [start, start + cells) per axis, padded with ``fill``."""
    (ys, xs), (rh, rw), (h, w) = start, cells, fmap.shape[1:]
    y0, y1, x0, x1 = max(ys, 0), min(ys + rh, h), max(xs, 0), min(xs + rw, w)
    if y1 <= y0 or x1 <= x0:
        return None
    pad = (x0 - xs, xs + rw - x1, y0 - ys, ys + rh - y1)
    return F.pad(fmap[:, y0:y1, x0:x1], pad, value=fill)


@implementation(
    "roi_pool",
    "library",
    "torch_adaptive_pool",
    arrays="torch_cpu",
    requires=("torch",),
    supports={"quantisation": ("caffe_floor_ceil",)},  # adaptive pooling's own bins
)
def roi_pool(features: Any, rois: Any, pooled_height: int, pooled_width: int,
             spatial_scale: float, opts: RoiPoolOptions) -> Any:  # fmt: skip
    """Per RoI: padded window, then F.adaptive_max_pool2d (or avg of values over mask)."""
    dtype = check_rois(features, rois, pooled_height, pooled_width, spatial_scale)
    k, c = rois.shape[0], features.shape[1]
    out = features.new_zeros((k, c, pooled_height, pooled_width), dtype=dtype)
    size = (pooled_height, pooled_width)
    maxmode = opts.pool_mode == "max"
    f = features.to(dtype)
    if maxmode and opts.nan_policy == "torchvision":
        f = f.nan_to_num(nan=-math.inf, posinf=math.inf, neginf=-math.inf)
    for i, (b, x1, y1, x2, y2) in enumerate(rois.tolist()):
        (ys, rh), (xs, rw) = roi_cells(y1, y2, spatial_scale), roi_cells(x1, x2, spatial_scale)
        fmap = f[int(b)]
        mask = torch.ones((1, *fmap.shape[1:]), dtype=dtype)
        win = _window(mask, (ys, xs), (rh, rw), 0.0)
        if win is None or c == 0:
            continue
        seen = F.adaptive_avg_pool2d(win[None], size)[0]  # share of on-map cells per bin
        if maxmode:
            vals = F.adaptive_max_pool2d(_window(fmap, (ys, xs), (rh, rw), -math.inf), size)
            if opts.nan_policy == "torchvision":
                vals = vals.clamp(min=-FLT_MAX)
        else:
            sums = F.adaptive_avg_pool2d(_window(fmap, (ys, xs), (rh, rw), 0.0), size)
            vals = sums / seen.clamp(min=1e-300)
        out[i] = torch.where(seen > 0, vals, torch.zeros_like(vals))
    return out
