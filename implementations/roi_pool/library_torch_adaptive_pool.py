"""roi_pool through torch's adaptive pooling: what a practitioner without torchvision writes.

F.adaptive_max_pool2d splits an R x R input into bins [floor(p*R/P), ceil((p+1)*R/P)) in
exact integer arithmetic (floor_ceil_exact). torchvision's default rule (floor_ceil_float)
divides R/P in the input's dtype and differs for a few sizes (R = 29, P = 7 in float64):
a RoI of such a size is pooled bin by bin with amax/mean instead. Each RoI's rounded
R_h x R_w window is cut from the map, padded where it leaves the map (-inf for max, 0 and a
0/1 mask for avg), and pooled in one call; bins that lie wholly off the map are set to 0.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.roi_pool import FLT_MAX, RoiPoolOptions, bin_edges, check_rois, roi_cells


@functools.lru_cache(maxsize=4096)
def _float_bins(cells: int, pooled: int, quant: str, dtype: str) -> Any:
    """The RoI-relative bins if ``quant``'s rule differs from adaptive pooling's for R =
    ``cells`` in ``pooled`` bins, else None."""
    size = 2 * cells + 2  # no clipping
    own = bin_edges(0, cells, pooled, size, quant, dtype)
    return None if own == bin_edges(0, cells, pooled, size, "floor_ceil_exact") else own


def _per_bin(fmap: Any, start: tuple[int, int], rows: Any, cols: Any, maxmode: bool) -> Any:
    """(C, ph, pw) pooled bin by bin from RoI-relative edges; empty bins give 0."""
    (ys, xs), (h, w) = start, fmap.shape[1:]
    out = fmap.new_zeros((fmap.shape[0], len(rows), len(cols)))
    for p, (a, b) in enumerate(rows):
        for q, (c, d) in enumerate(cols):
            y0, y1 = min(max(a + ys, 0), h), min(max(b + ys, 0), h)
            x0, x1 = min(max(c + xs, 0), w), min(max(d + xs, 0), w)
            if y1 > y0 and x1 > x0:
                cells = fmap[:, y0:y1, x0:x1].flatten(1)
                out[:, p, q] = cells.amax(dim=1) if maxmode else cells.mean(dim=1)
    return out


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
    supports={"quantisation": ("floor_ceil_float", "floor_ceil_exact")},
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
    quant, dt = opts.quantisation, str(dtype).removeprefix("torch.")
    for i, (b, x1, y1, x2, y2) in enumerate(rois.tolist()):
        (ys, rh), (xs, rw) = roi_cells(y1, y2, spatial_scale), roi_cells(x1, x2, spatial_scale)
        fmap = f[int(b)]
        rows, cols = (
            _float_bins(rh, pooled_height, quant, dt),
            _float_bins(rw, pooled_width, quant, dt),
        )
        if (rows is not None or cols is not None) and c:
            rows = rows or bin_edges(0, rh, pooled_height, rh, "floor_ceil_exact")
            cols = cols or bin_edges(0, rw, pooled_width, rw, "floor_ceil_exact")
            vals = _per_bin(fmap, (ys, xs), rows, cols, maxmode)
            out[i] = (
                vals.clamp(min=-FLT_MAX) if maxmode and opts.nan_policy == "torchvision" else vals
            )
            continue
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
