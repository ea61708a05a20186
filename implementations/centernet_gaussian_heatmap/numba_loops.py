"""centernet_gaussian_heatmap with Numba: one compiled pass over objects and window cells.

The geometry of each object is computed from its corners in float64 (exact for float32
inputs), the Gaussian of each window cell evaluated in place and max-merged straight into
a heatmap of the input dtype (the heatmap dominates the traffic: no float64 copy of it).
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.centernet_gaussian_heatmap import HeatmapOptions, check_inputs

_EPS = 2.0**-52


@numba.njit(cache=False)
def _radius(h: float, w: float, o: float, exact: bool) -> float:
    b1, c1 = h + w, w * h * (1 - o) / (1 + o)
    b2, c2 = 2 * (h + w), (1 - o) * w * h
    a3, b3, c3 = 4 * o, -2 * o * (h + w), (o - 1) * w * h
    sq1, sq2 = math.sqrt(b1 * b1 - 4 * c1), math.sqrt(b2 * b2 - 16 * c2)
    sq3 = math.sqrt(b3 * b3 - 4 * a3 * c3)
    if exact:
        return min((b1 - sq1) / 2, (b2 - sq2) / 8, (-b3 + sq3) / (2 * a3))
    return min((b1 + sq1) / 2, (b2 + sq2) / 2, (b3 + sq3) / 2)


@numba.njit(cache=False)
def _draw(boxes: Any, labels: Any, o: float, exact: bool, heat: Any, geo: Any, index: Any) -> None:
    """geo[..., :] = (w, h, offset x, offset y, mask)."""
    nb, m = labels.shape
    height, width = heat.shape[2], heat.shape[3]
    for i in range(nb):
        for k in range(m):
            lab = labels[i, k]
            if lab < 0:
                continue
            x1, x2 = (
                min(max(boxes[i, k, 0], 0.0), width - 1.0),
                min(max(boxes[i, k, 2], 0.0), width - 1.0),
            )
            y1, y2 = (
                min(max(boxes[i, k, 1], 0.0), height - 1.0),
                min(max(boxes[i, k, 3], 0.0), height - 1.0),
            )
            h, w = y2 - y1, x2 - x1
            if not (h > 0 and w > 0):
                continue
            r = max(0, int(_radius(math.ceil(h), math.ceil(w), o, exact)))
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            ix, iy = int(cx), int(cy)
            sigma = (2 * r + 1) / 6
            two_s2 = 2 * sigma * sigma
            for y in range(max(iy - r, 0), min(iy + r + 1, height)):
                for x in range(max(ix - r, 0), min(ix + r + 1, width)):
                    g = math.exp(-((x - ix) * (x - ix) + (y - iy) * (y - iy)) / two_s2)
                    if g >= _EPS and g > heat[i, lab, y, x]:
                        heat[i, lab, y, x] = g
            geo[i, k, 0], geo[i, k, 1] = w, h
            geo[i, k, 2], geo[i, k, 3], geo[i, k, 4] = cx - ix, cy - iy, 1.0
            index[i, k] = iy * width + ix


@implementation("centernet_gaussian_heatmap", "numba", "loops")
def centernet_gaussian_heatmap(boxes: Any, labels: Any, num_classes: int, height: int,
                               width: int, min_overlap: float,
                               opts: HeatmapOptions) -> Any:  # fmt: skip
    """One compiled pass (one compilation per dtype); small outputs cast at the end."""
    dtype = check_inputs(boxes, labels, num_classes, height, width, min_overlap)
    nb, m = labels.shape
    heat = np.zeros((nb, num_classes, height, width), dtype=dtype)
    geo, index = np.zeros((nb, m, 5)), np.zeros((nb, m), dtype=np.int64)
    b = np.ascontiguousarray(boxes, dtype=np.float64).reshape(nb, m, 4)
    lab = np.ascontiguousarray(labels, dtype=np.int64)
    _draw(b, lab, float(min_overlap), opts.radius_formula == "exact", heat, geo, index)
    return (heat, geo[..., :2].astype(dtype), geo[..., 2:4].astype(dtype),
            index, geo[..., 4].astype(dtype))  # fmt: skip
