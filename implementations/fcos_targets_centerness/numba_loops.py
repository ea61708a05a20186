"""fcos_targets_centerness with Numba: one compiled pass over (image, location) pairs and
their GTs, keeping the running smallest-area candidate; nothing of size P x G is stored.
(Serial: a parallel build compiles twice as long and the bench runs one thread.)"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.fcos_targets_centerness import FcosOptions, check, locations


@numba.njit(cache=False)
def _targets(
    g: Any,
    pts: Any,
    s_of: Any,
    lo: Any,
    hi: Any,
    radius: float,
    strict: bool,
    sampling: bool,
    half_open: bool,
    matched: Any,
    reg: Any,
    ctr: Any,
) -> None:
    n_img, n_gt = g.shape[0], g.shape[1]
    for q in range(n_img * pts.shape[0]):
        b, p = q // pts.shape[0], q % pts.shape[0]
        x, y = pts[p, 0], pts[p, 1]
        best, best_area = -1, np.inf
        for j in range(n_gt):
            x1, y1, x2, y2 = g[b, j, 0], g[b, j, 1], g[b, j, 2], g[b, j, 3]
            if sampling:
                half = radius * s_of[p]
                cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
                gap = min(min(x - max(cx - half, x1), y - max(cy - half, y1)),
                          min(min(cx + half, x2) - x, min(cy + half, y2) - y))  # fmt: skip
            else:
                gap = min(min(x - x1, y - y1), min(x2 - x, y2 - y))
            if not (gap > 0 if strict else gap >= 0):
                continue
            m = max(max(x - x1, y - y1), max(x2 - x, y2 - y))
            if not ((m > lo[p]) if half_open else (m >= lo[p])) or m > hi[p]:
                continue
            area = (x2 - x1) * (y2 - y1)
            if area < best_area:  # strict: equal areas keep the lower GT
                best, best_area = j, area
        matched[b, p] = best
        if best >= 0:
            l, t = x - g[b, best, 0], y - g[b, best, 1]
            r, bb = g[b, best, 2] - x, g[b, best, 3] - y
            reg[b, p, 0], reg[b, p, 1], reg[b, p, 2], reg[b, p, 3] = l, t, r, bb
            lr = min(l, r) / max(l, r) if max(l, r) > 0 else 0.0
            tb = min(t, bb) / max(t, bb) if max(t, bb) > 0 else 0.0
            ctr[b, p] = np.sqrt(lr * tb)


@implementation("fcos_targets_centerness", "numba", "loops")
def fcos_targets_centerness(gt_boxes: Any, strides: Any, size_ranges: Any, image_height: int,
                            image_width: int, radius: float, opts: FcosOptions) -> Any:  # fmt: skip
    """Locations and their level's stride and range on the host; the tests compiled."""
    dtype = check(gt_boxes, strides, size_ranges, image_height, image_width, radius)
    pts, lvl = locations(strides, image_height, image_width)
    ranges = np.asarray(size_ranges, dtype=np.float64)
    s_of = np.asarray(strides, dtype=np.float64)[lvl]
    g = np.ascontiguousarray(gt_boxes, dtype=np.float64)
    n_img, n_p = g.shape[0], pts.shape[0]
    matched = np.empty((n_img, n_p), dtype=np.int64)
    reg, ctr = np.zeros((n_img, n_p, 4)), np.zeros((n_img, n_p))
    lo, hi = np.ascontiguousarray(ranges[lvl, 0]), np.ascontiguousarray(ranges[lvl, 1])
    _targets(g, pts, s_of, lo, hi, float(radius), opts.inside == "strict", opts.center_sampling,
             opts.range_bounds == "half_open", matched, reg, ctr)  # fmt: skip
    return matched, reg.astype(dtype), ctr.astype(dtype)
