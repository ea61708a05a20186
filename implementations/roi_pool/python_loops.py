"""roi_pool in pure Python on nested lists: bin edges per RoI (float64 bin sizes), then loops."""

from __future__ import annotations

import math
from typing import Any

from harness import implementation
from suites.roi_pool import FLT_MAX, RoiPoolOptions, bin_edges, check_rois, roi_cells


def _pool(cells: list[float], opts: RoiPoolOptions) -> float:
    if opts.pool_mode == "avg":
        return sum(cells) / len(cells)
    if opts.nan_policy == "torchvision":
        best = -FLT_MAX
        for v in cells:
            if v > best:  # NaN is never greater
                best = v
        return best
    return math.nan if any(v != v for v in cells) else max(cells)


@implementation(
    "roi_pool",
    "python",
    "loops",
    max_flops=1e7,  # about 2 s of loops at most
    expected_failures={
        "empty_channels": "a plain list of empty channel lists cannot say (N, 0, H, W)",
        "rois_other_dtype": "plain lists carry no dtype to disagree on",
        "float_bins_f32": "plain lists carry no dtype: bin sizes are divided in float64",
    },
)
def roi_pool(features: Any, rois: Any, pooled_height: int, pooled_width: int,
             spatial_scale: float, opts: RoiPoolOptions) -> Any:  # fmt: skip
    """Loops over RoIs, bins and channels; a bin's cells are a list comprehension."""
    check_rois(features, rois, pooled_height, pooled_width, spatial_scale)
    out: list[Any] = []
    for b, x1, y1, x2, y2 in rois:
        fmaps = features[int(b)]
        h, w = len(fmaps[0]), len(fmaps[0][0])
        rows = bin_edges(*roi_cells(y1, y2, spatial_scale), pooled_height, h, opts.quantisation)
        cols = bin_edges(*roi_cells(x1, x2, spatial_scale), pooled_width, w, opts.quantisation)
        planes = []
        for fm in fmaps:
            plane = []
            for h0, h1 in rows:
                row = []
                for w0, w1 in cols:
                    cells = [v for line in fm[h0:h1] for v in line[w0:w1]]
                    row.append(_pool(cells, opts) if cells else 0.0)
                plane.append(row)
            planes.append(plane)
        out.append(planes)
    return out
