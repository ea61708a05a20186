"""centernet_gaussian_heatmap with NumPy: object geometry vectorised, one cached window each.

Clipping, sizes, radii, centres, offsets and indices are computed for all objects at once;
each drawn object then max-merges its (cached, per radius) Gaussian window into its class
plane with one ``np.maximum(..., out=)`` on a view.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from harness import implementation
from suites.centernet_gaussian_heatmap import HeatmapOptions, check_inputs


@functools.lru_cache(maxsize=512)
def _window(r: int, dtype: str) -> Any:
    sigma = (2 * r + 1) / 6
    y, x = np.ogrid[-r : r + 1, -r : r + 1]
    g = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    g[g < np.finfo(np.float64).eps * g.max()] = 0
    return g.astype(dtype)


def _radius(h: Any, w: Any, o: float, exact: bool) -> Any:
    b1, c1 = h + w, w * h * (1 - o) / (1 + o)
    b2, c2 = 2 * (h + w), (1 - o) * w * h
    a3, b3, c3 = 4 * o, -2 * o * (h + w), (o - 1) * w * h
    sq1, sq2 = np.sqrt(b1 * b1 - 4 * c1), np.sqrt(b2 * b2 - 16 * c2)
    sq3 = np.sqrt(b3 * b3 - 4 * a3 * c3)
    if exact:
        return np.minimum(np.minimum((b1 - sq1) / 2, (b2 - sq2) / 8), (-b3 + sq3) / (2 * a3))
    return np.minimum(np.minimum((b1 + sq1) / 2, (b2 + sq2) / 2), (b3 + sq3) / 2)


@implementation("centernet_gaussian_heatmap", "numpy", "windows")
def centernet_gaussian_heatmap(boxes: Any, labels: Any, num_classes: int, height: int,
                               width: int, min_overlap: float,
                               opts: HeatmapOptions) -> Any:  # fmt: skip
    """Vectorised geometry, then one max-merge of a cached window per drawn object."""
    dtype = check_inputs(boxes, labels, num_classes, height, width, min_overlap)
    nb = labels.shape[0]
    b = boxes.astype(dtype)
    x = np.clip(b[..., 0::2], 0, width - 1)
    y = np.clip(b[..., 1::2], 0, height - 1)
    w, h = x[..., 1] - x[..., 0], y[..., 1] - y[..., 0]
    drawn = (labels >= 0) & (h > 0) & (w > 0)
    x64, y64 = x.astype(np.float64), y.astype(np.float64)  # exact: ceil and trunc see the
    ceil_h = np.ceil(y64[..., 1] - y64[..., 0])  # true size and centre of float32 corners
    ceil_w = np.ceil(x64[..., 1] - x64[..., 0])
    r = np.maximum(_radius(ceil_h, ceil_w, min_overlap, opts.radius_formula == "exact"), 0)
    r = np.where(drawn, r, 0).astype(np.int64)
    cx64, cy64 = (x64[..., 0] + x64[..., 1]) / 2, (y64[..., 0] + y64[..., 1]) / 2
    ix = np.where(drawn, cx64, 0).astype(np.int64)
    iy = np.where(drawn, cy64, 0).astype(np.int64)
    heat = np.zeros((nb, num_classes, height, width), dtype=dtype)
    zero = np.zeros((), dtype=dtype)
    wh = np.where(drawn[..., None], np.stack([w, h], axis=-1), zero)
    off = np.where(drawn[..., None], np.stack([cx64 - ix, cy64 - iy], axis=-1), zero)
    index = np.where(drawn, iy * width + ix, 0)
    for i, k in zip(*np.nonzero(drawn), strict=True):
        rr, xx, yy = int(r[i, k]), int(ix[i, k]), int(iy[i, k])
        left, right = min(xx, rr), min(width - xx, rr + 1)
        top, bottom = min(yy, rr), min(height - yy, rr + 1)
        view = heat[i, labels[i, k], yy - top : yy + bottom, xx - left : xx + right]
        g = _window(rr, str(np.dtype(dtype)))
        np.maximum(view, g[rr - top : rr + bottom, rr - left : rr + right], out=view)
    return heat, wh.astype(dtype), off.astype(dtype), index, drawn.astype(dtype)
