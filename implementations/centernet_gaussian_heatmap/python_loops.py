"""centernet_gaussian_heatmap in pure Python on nested lists: per object, per window cell."""

from __future__ import annotations

import math
from typing import Any

from harness import implementation
from suites.centernet_gaussian_heatmap import HeatmapOptions, check_inputs, gaussian_radius

_EPS = 2.0**-52  # float64 eps: window values below eps * max (= 1) are zeroed


@implementation(
    "centernet_gaussian_heatmap",
    "python",
    "loops",
    max_flops=2e6,  # a few seconds of loops at most
    expected_failures={"no_objects": "plain empty lists cannot say (B, 0, 4)"},
)
def centernet_gaussian_heatmap(boxes: Any, labels: Any, num_classes: int, height: int,
                               width: int, min_overlap: float,
                               opts: HeatmapOptions) -> Any:  # fmt: skip
    """Loops over objects and the cells of each clipped window."""
    check_inputs(boxes, labels, num_classes, height, width, min_overlap)
    heat = [[[[0.0] * width for _ in range(height)] for _ in range(num_classes)]
            for _ in labels]  # fmt: skip
    wh, off, index, mask = [], [], [], []
    for i, row in enumerate(labels):
        wh.append([[0.0, 0.0] for _ in row])
        off.append([[0.0, 0.0] for _ in row])
        index.append([0 for _ in row])
        mask.append([0.0 for _ in row])
        for k, lab in enumerate(row):
            if lab < 0:
                continue
            x1, y1, x2, y2 = boxes[i][k]
            x1, x2 = (min(max(v, 0.0), width - 1.0) for v in (x1, x2))
            y1, y2 = (min(max(v, 0.0), height - 1.0) for v in (y1, y2))
            h, w = y2 - y1, x2 - x1
            if not (h > 0 and w > 0):
                continue
            rad = gaussian_radius(math.ceil(h), math.ceil(w), min_overlap, opts.radius_formula)
            r = max(0, int(rad))
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            ix, iy = int(cx), int(cy)
            two_s2 = 2 * ((2 * r + 1) / 6) ** 2
            plane = heat[i][lab]
            for y in range(max(iy - r, 0), min(iy + r + 1, height)):
                line = plane[y]
                for x in range(max(ix - r, 0), min(ix + r + 1, width)):
                    g = math.exp(-((x - ix) ** 2 + (y - iy) ** 2) / two_s2)
                    if g >= _EPS and g > line[x]:
                        line[x] = g
            wh[i][k], off[i][k] = [w, h], [cx - ix, cy - iy]
            index[i][k], mask[i][k] = iy * width + ix, 1.0
    return heat, wh, off, index, mask
