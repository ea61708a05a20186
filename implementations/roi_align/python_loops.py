"""roi_align in pure Python on nested lists: per-RoI weight tables, then plain loops.

Each RoI's sample positions along y and x are turned once into (low, high, weight, weight)
tuples (Detectron's border rule folded into the weights), so the channel loop only does the
four multiply-adds of each bilinear read.
"""

from __future__ import annotations

import math
from typing import Any

from harness import implementation
from suites.roi_align import RoiAlignOptions, check_rois, sampling_grid

Tap = tuple[int, int, float, float]


def _taps(start: float, bin_size: float, pooled: int, grid: int, size: int) -> list[list[Tap]]:
    """Per bin, per sample: (low, high, weight of low, weight of high)."""
    out = []
    for p in range(pooled):
        row = []
        for i in range(grid):
            coord = start + p * bin_size + (i + 0.5) * bin_size / grid
            if coord < -1.0 or coord > size:
                row.append((0, 0, 0.0, 0.0))
                continue
            coord = max(coord, 0.0)
            low = math.floor(coord)
            if low >= size - 1:
                row.append((size - 1, size - 1, 1.0, 0.0))
            else:
                row.append((low, low + 1, 1.0 - (coord - low), coord - low))
        out.append(row)
    return out


@implementation(
    "roi_align",
    "python",
    "loops",
    max_flops=2e6,  # about 0.4 s of loops
    expected_failures={
        "empty_channels": "a plain list of empty channel lists cannot say (N, 0, H, W)",
        "rois_other_dtype": "plain lists carry no dtype to disagree on",
    },
)
def roi_align(features: Any, rois: Any, pooled_height: int, pooled_width: int,
              spatial_scale: float, sampling_ratio: int, opts: RoiAlignOptions) -> Any:  # fmt: skip
    """Loops over RoIs, channels, bins and samples with per-RoI tap tables (float64)."""
    check_rois(features, rois, pooled_height, pooled_width, spatial_scale, sampling_ratio)
    ph, pw, off = pooled_height, pooled_width, 0.5 if opts.aligned else 0.0
    out: list[Any] = []
    for b, rx1, ry1, rx2, ry2 in rois:
        fmaps = features[int(b)]
        h, w = len(fmaps[0]), len(fmaps[0][0])
        x1, y1 = rx1 * spatial_scale - off, ry1 * spatial_scale - off
        roi_w, roi_h = rx2 * spatial_scale - off - x1, ry2 * spatial_scale - off - y1
        if not opts.aligned:
            roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
        gh, gw = sampling_grid(roi_h, ph, sampling_ratio), sampling_grid(roi_w, pw, sampling_ratio)
        if gh <= 0 or gw <= 0:
            out.append([[[0.0] * pw for _ in range(ph)] for _ in fmaps])
            continue
        ys, xs = _taps(y1, roi_h / ph, ph, gh, h), _taps(x1, roi_w / pw, pw, gw, w)
        planes = []
        for fm in fmaps:
            plane = []
            for ytaps in ys:
                row = []
                for xtaps in xs:
                    vals = [
                        u * (s * fm[a][c0] + t * fm[a][c1]) + v * (s * fm[bb][c0] + t * fm[bb][c1])
                        for a, bb, u, v in ytaps
                        for c0, c1, s, t in xtaps
                    ]
                    row.append(max(vals) if opts.pool_mode == "max" else sum(vals) / len(vals))
                plane.append(row)
            planes.append(plane)
        out.append(planes)
    return out
