"""simota_dynamic_k in NumPy: the batch's geometry as (B, G, A) masks, per image the cost over
the candidate columns, dynamic k from one partition, and the k cheapest per GT without a
full sort: the k-th smallest cost per row, everything below it, then the lowest-index ties
at it by a running count; double picks resolved by one argmin over GTs."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.simota_dynamic_k import ARGS, SimOtaOptions


@implementation("simota_dynamic_k", "numpy", "vectorised")
def simota_dynamic_k(
    anchor_centres: Any,
    anchor_strides: Any,
    gt_boxes: Any,
    pair_ious: Any,
    cls_cost: Any,
    center_radius: float,
    q: int,
    opts: SimOtaOptions,
) -> Any:
    """Masks for the batch, then per image partition-based selections."""
    ARGS.check(anchor_centres, anchor_strides, gt_boxes, pair_ious, cls_cost, center_radius, q)
    c, s = np.asarray(anchor_centres, np.float64), np.asarray(anchor_strides, np.float64)
    g = np.asarray(gt_boxes, np.float64)
    n_img, n_gt, n_a = g.shape[0], g.shape[1], c.shape[0]
    matched = np.full((n_img, n_a), -1, dtype=np.int64)
    dynamic_k = np.zeros((n_img, n_gt), dtype=np.int64)
    if n_gt == 0:
        return matched, dynamic_k
    x, y = c[None, None, :, 0], c[None, None, :, 1]
    x1, y1, x2, y2 = (g[..., i, None] for i in range(4))
    in_box = (x > x1) & (y > y1) & (x < x2) & (y < y2)  # (B, G, A)
    cx, cy, half = (x1 + x2) / 2, (y1 + y2) / 2, center_radius * s
    in_ctr = (x > cx - half) & (y > cy - half) & (x < cx + half) & (y < cy + half)
    pool = in_ctr if opts.candidates == "center" else in_box | in_ctr
    rows = np.arange(n_gt)
    for b in range(n_img):
        cand = np.flatnonzero(pool[b].any(axis=0))
        if cand.size == 0:
            continue
        iou = np.asarray(pair_ious[b], np.float64)[:, cand]
        cost = np.asarray(cls_cost[b], np.float64)[:, cand] - 3.0 * np.log(iou + 1e-8)
        cost += 1e5 * ~(in_box[b][:, cand] & in_ctr[b][:, cand])
        top_q = min(q, cand.size)
        best = -np.partition(-iou, top_q - 1, axis=1)[:, :top_q]
        k = np.maximum(np.floor(np.sort(best, axis=1)[:, ::-1].sum(axis=1)), 1).astype(np.int64)
        dynamic_k[b] = k
        k_max = int(k.max())
        smallest = np.sort(np.partition(cost, k_max - 1, axis=1)[:, :k_max], axis=1)
        kth = smallest[rows, k - 1][:, None]
        below, tied = cost < kth, cost == kth
        need = (k - below.sum(axis=1))[:, None]
        picked = below | (tied & (np.cumsum(tied, axis=1) <= need))
        chosen = np.where(picked, cost, np.inf)
        owner = chosen.argmin(axis=0)  # the cheapest GT, equal costs the lower
        hit = np.isfinite(chosen[owner, np.arange(cand.size)])
        matched[b, cand[hit]] = owner[hit]
    return matched, dynamic_k
