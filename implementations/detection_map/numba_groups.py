"""detection_map with Numba: NumPy sorts the detections and ground truths into (class,
image) groups; one compiled pass matches each group at every threshold with scalar IoUs
(no IoU matrix is stored), and a second compiled pass accumulates each class's curves.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.detection_map import AREA_RANGES, RECALL_11, RECALL_101, MapOptions, check, thresholds


@numba.njit(cache=False)
def _iou(d: Any, g: Any, crowd: bool, one: float) -> float:
    iw = min(d[2], g[2]) - max(d[0], g[0]) + one
    ih = min(d[3], g[3]) - max(d[1], g[1]) + one
    inter = max(iw, 0.0) * max(ih, 0.0)
    ad = (d[2] - d[0] + one) * (d[3] - d[1] + one)
    union = ad if crowd else ad + (g[2] - g[0] + one) * (g[3] - g[1] + one) - inter
    return inter / union if union > 0 else 0.0


@numba.njit(cache=False)
def _match(db: Any, dstart: Any, gb: Any, gstart: Any, gign: Any, gcrowd: Any, ts: Any,
           coco: bool, ge: bool, one: float, hit: Any, ign: Any) -> None:  # fmt: skip
    """Group k holds detections dstart[k]:dstart[k+1] (score order) and ground truths
    gstart[k]:gstart[k+1] (COCO: ignored last); fills hit/ign (T, D) in place."""
    n_t = ts.shape[0]
    for k in range(dstart.shape[0] - 1):
        g0, g1 = gstart[k], gstart[k + 1]
        if g1 == g0:
            continue
        taken = np.zeros((n_t, g1 - g0), np.bool_)
        ious = np.empty(g1 - g0)
        for i in range(dstart[k], dstart[k + 1]):
            for g in range(g0, g1):
                ious[g - g0] = _iou(db[i], gb[g], gcrowd[g] and coco, one)
            for t in range(n_t):
                m = -1
                if coco:
                    for g in range(g1 - g0):
                        if taken[t, g] and not gcrowd[g0 + g]:
                            continue
                        if m > -1 and not gign[g0 + m] and gign[g0 + g]:
                            break
                        v = ious[g]
                        if not (v >= ts[t] if ge else v > ts[t]) or (m > -1 and v < ious[m]):
                            continue
                        m = g
                    if m > -1:
                        hit[t, i], ign[t, i], taken[t, m] = True, gign[g0 + m], True
                else:
                    m = 0
                    for g in range(1, g1 - g0):
                        if ious[g] > ious[m]:
                            m = g
                    v = ious[m]
                    if v >= ts[t] if ge else v > ts[t]:
                        if gign[g0 + m]:
                            ign[t, i] = True
                        elif not taken[t, m]:
                            hit[t, i], taken[t, m] = True, True


@numba.njit(cache=False)
def _ap(tp: Any, fp: Any, npos: int, mode: int, points: Any) -> float:
    """Mean over thresholds of one class's AP; mode 0: at recall points, 1: all-point."""
    n_t, n = tp.shape
    total = 0.0
    prec, rec = np.empty(n), np.empty(n)
    for t in range(n_t):
        a = 0.0
        b = 0.0
        for i in range(n):
            a += tp[t, i]
            b += tp[t, i] + fp[t, i]
            rec[i] = a / npos
            prec[i] = a / b if b > 0 else 0.0
        for i in range(n - 2, -1, -1):
            prec[i] = max(prec[i], prec[i + 1])
        s = 0.0
        if mode == 1:
            last = 0.0
            for i in range(n):
                s += (rec[i] - last) * prec[i]
                last = rec[i]
        else:
            i = 0
            for r in points:
                while i < n and rec[i] < r:
                    i += 1
                s += prec[i] if i < n else 0.0
            s /= points.shape[0]
        total += s
    return float(total / n_t)


@implementation("detection_map", "numba", "groups")
def detection_map(det_boxes: Any, det_scores: Any, det_labels: Any, det_images: Any,
                  gt_boxes: Any, gt_labels: Any, gt_images: Any, gt_crowd: Any, gt_areas: Any,
                  num_images: int, num_classes: int, opts: MapOptions) -> Any:  # fmt: skip
    """Group with NumPy sorts; match and accumulate in compiled loops."""
    check(det_boxes, det_scores, det_labels, det_images, gt_boxes, gt_labels, gt_images,
          gt_crowd, gt_areas, num_images, num_classes)  # fmt: skip
    coco, one = opts.protocol == "coco", 1.0 if opts.pixel_inclusive else 0.0
    lo, hi = AREA_RANGES[opts.area_range]
    ts = thresholds(opts)
    ds = np.asarray(det_scores, np.float64)
    dl, di = np.asarray(det_labels, np.int64), np.asarray(det_images, np.int64)
    gl, gi = np.asarray(gt_labels, np.int64), np.asarray(gt_images, np.int64)
    crowd, areas = np.asarray(gt_crowd, bool), np.asarray(gt_areas, np.float64)
    ignore = crowd | (coco & ((areas < lo) | (areas > hi)))
    order = np.lexsort((-ds, di, dl))
    dkey = dl[order] * num_images + di[order]
    if opts.max_dets and order.size:  # rank within the group below max_dets
        first = np.searchsorted(dkey, dkey)
        keep = np.arange(order.size) - first < opts.max_dets
        order, dkey = order[keep], dkey[keep]
    gorder = np.lexsort((ignore if coco else np.zeros(gl.size, bool), gi, gl))
    gkey = gl[gorder] * num_images + gi[gorder]
    groups = np.unique(dkey)
    dstart = np.searchsorted(dkey, np.r_[groups, np.iinfo(np.int64).max])
    # each group's ground truths, contiguous in group order (CSR offsets goff)
    glen = np.searchsorted(gkey, groups, side="right") - np.searchsorted(gkey, groups)
    gsel = gorder[np.isin(gkey, groups)]
    goff = np.r_[0, np.cumsum(glen)]
    db = np.ascontiguousarray(det_boxes, dtype=np.float64)[order]
    gb = np.ascontiguousarray(gt_boxes, dtype=np.float64)[gsel]
    hit, ign = np.zeros((ts.size, order.size), bool), np.zeros((ts.size, order.size), bool)
    _match(db, dstart, gb, goff, ignore[gsel], crowd[gsel], ts, coco, opts.match_if == "ge",
           one, hit, ign)  # fmt: skip
    if coco:
        a_d = (db[:, 2] - db[:, 0] + one) * (db[:, 3] - db[:, 1] + one)
        ign |= ~hit & ((a_d < lo) | (a_d > hi))
    tp, fp = (hit & ~ign).astype(np.float64), (~hit & ~ign).astype(np.float64)
    cls, img = dl[order], di[order]
    rank = (
        np.lexsort((order, img, -ds[order], cls)) if coco else np.lexsort((order, -ds[order], cls))
    )
    tp, fp, cls = tp[:, rank], fp[:, rank], cls[rank]
    npos = np.bincount(gl[~ignore], minlength=num_classes)
    cuts = np.searchsorted(cls, np.arange(num_classes + 1))
    mode = 1 if opts.ap_interp == "all_point" else 0
    points = RECALL_101 if opts.ap_interp == "coco101" else RECALL_11
    ap = np.full(num_classes, np.nan)
    for c in np.flatnonzero(npos):
        sl = slice(cuts[c], cuts[c + 1])
        ap[c] = _ap(np.ascontiguousarray(tp[:, sl]), np.ascontiguousarray(fp[:, sl]),
                    int(npos[c]), mode, points)  # fmt: skip
    kept = ap[~np.isnan(ap)]
    return ap, np.asarray(kept.mean() if kept.size else np.nan)
