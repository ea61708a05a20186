"""atss_assignment in NumPy: per image, the (G, A) IoU and squared-distance matrices in one
broadcast, a stable sort of each level's distances for all GTs at once, the candidates'
statistics as row reductions, and the multi-GT resolution as one masked max over GTs.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np

from harness import implementation
from suites.atss_assignment import MARGINS, AtssOptions, check


@implementation("atss_assignment", "numpy", "vectorised")
def atss_assignment(
    anchors: Any, level_sizes: Any, gt_boxes: Any, k: int, opts: AtssOptions
) -> Any:
    """Candidates by level-wise stable sorts; thresholds and positives by row reductions."""
    dtype = check(anchors, level_sizes, gt_boxes, k)
    a = np.asarray(anchors, np.float64)
    cx, cy = (a[:, 0] + a[:, 2]) / 2, (a[:, 1] + a[:, 3]) / 2
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    starts = np.concatenate([[0], np.cumsum(level_sizes)])
    n_img, n_gt = gt_boxes.shape[0], gt_boxes.shape[1]
    assigned = np.full((n_img, len(a)), -1, dtype=np.int64)
    thresholds = np.zeros((n_img, n_gt))
    if n_gt == 0:
        return assigned, thresholds.astype(dtype)
    rows = np.arange(n_gt)[:, None]
    for b in range(n_img):
        g = np.asarray(gt_boxes[b], np.float64)
        iw = np.minimum(g[:, None, 2], a[None, :, 2]) - np.maximum(g[:, None, 0], a[None, :, 0])
        ih = np.minimum(g[:, None, 3], a[None, :, 3]) - np.maximum(g[:, None, 1], a[None, :, 1])
        inter = np.maximum(iw, 0.0) * np.maximum(ih, 0.0)
        union = ((g[:, 2] - g[:, 0]) * (g[:, 3] - g[:, 1]))[:, None] + area_a[None, :] - inter
        iou = np.divide(inter, union, out=np.zeros_like(inter), where=union != 0)
        gx, gy = (g[:, 0] + g[:, 2]) / 2, (g[:, 1] + g[:, 3]) / 2
        d2 = (cx[None, :] - gx[:, None]) ** 2 + (cy[None, :] - gy[:, None]) ** 2
        cand = np.concatenate(
            [s + np.argsort(d2[:, s:e], axis=1, kind="stable")[:, :k] for s, e in pairwise(starts)],
            axis=1,
        )  # (G, K)
        v = iou[rows, cand]
        mean = v.mean(axis=1)
        n = v.shape[1]
        with np.errstate(invalid="ignore", divide="ignore"):
            std = np.sqrt(((v - mean[:, None]) ** 2).sum(axis=1) / (n - opts.ddof))
        thr = mean + (std if n > opts.ddof else np.nan)
        thresholds[b] = thr
        pos = v >= thr[:, None]
        if opts.center_inside != "off":
            ccx, ccy = cx[cand], cy[cand]
            ltrb = np.minimum(np.minimum(ccx - g[:, None, 0], ccy - g[:, None, 1]),
                              np.minimum(g[:, None, 2] - ccx, g[:, None, 3] - ccy))  # fmt: skip
            pos &= ltrb > MARGINS[opts.center_inside]
        claim = np.full((n_gt, len(a)), -np.inf)
        claim[np.broadcast_to(rows, cand.shape)[pos], cand[pos]] = v[pos]
        best = claim.max(axis=0)
        assigned[b] = np.where(best > -np.inf, claim.argmax(axis=0), -1)
    return assigned, thresholds.astype(dtype)
