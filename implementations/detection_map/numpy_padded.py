"""detection_map in NumPy: every (image, class) group matched at once, one detection rank
at a time, on a padded (groups, ranks, GTs) IoU tensor; then per class one sort and
cumulative sums for all thresholds together.

The greedy matching is sequential only along a group's own ranking, so the loop runs over
ranks (at most max_dets, or the largest group), each step a few whole-array operations
over (thresholds, groups, GTs). Groups without a ground truth never enter the tensor.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.detection_map import AREA_RANGES, RECALL_11, RECALL_101, MapOptions, check, thresholds


def _ranks(keys: np.ndarray) -> np.ndarray:
    """Position of each element within its run of equal (sorted) keys."""
    if keys.size == 0:
        return keys.copy()
    start = np.r_[True, keys[1:] != keys[:-1]]
    first = np.maximum.accumulate(np.where(start, np.arange(keys.size), 0))
    rank: np.ndarray = np.arange(keys.size) - first
    return rank


def _last_argmax(v: np.ndarray) -> np.ndarray:
    """Index of the last maximum along the last axis (pycocotools' scan keeps the later)."""
    last: np.ndarray = v.shape[-1] - 1 - np.argmax(v[..., ::-1], axis=-1)
    return last


def _iou(d: np.ndarray, g: np.ndarray, crowd: np.ndarray, one: float) -> np.ndarray:
    iw = np.minimum(d[..., :, None, 2], g[..., None, :, 2])
    iw -= np.maximum(d[..., :, None, 0], g[..., None, :, 0])
    ih = np.minimum(d[..., :, None, 3], g[..., None, :, 3])
    ih -= np.maximum(d[..., :, None, 1], g[..., None, :, 1])
    inter = np.clip(iw + one, 0, None) * np.clip(ih + one, 0, None)
    ad = (d[..., 2] - d[..., 0] + one) * (d[..., 3] - d[..., 1] + one)
    ag = (g[..., 2] - g[..., 0] + one) * (g[..., 3] - g[..., 1] + one)
    union = np.where(
        crowd[..., None, :], ad[..., :, None], ad[..., :, None] + ag[..., None, :] - inter
    )
    iou: np.ndarray = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return iou


def _match(dbox: np.ndarray, gbox: np.ndarray, gvalid: np.ndarray, gign: np.ndarray,
           gcrowd: np.ndarray, ts: np.ndarray, coco: bool, ge: bool,
           one: float) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(matched, matched to an ignored GT), each (T, K, Dmax), for padded groups."""
    ious = _iou(dbox, gbox, gcrowd & coco, one)  # (K, Dmax, Gmax)
    n_t, (n_k, n_d, n_g) = ts.size, ious.shape
    taken = np.zeros((n_t, n_k, n_g), bool)
    hit, on_ign = np.zeros((n_t, n_k, n_d), bool), np.zeros((n_t, n_k, n_d), bool)
    tt, kk = np.meshgrid(np.arange(n_t), np.arange(n_k), indexing="ij")
    for d in range(n_d):
        iou = ious[:, d, :]
        ok = (iou >= ts[:, None, None] if ge else iou > ts[:, None, None]) & gvalid
        if coco:
            avail = ok & ~(taken & ~gcrowd)
            reg, ign = avail & ~gign, avail & gign
            any_reg, any_ign = reg.any(-1), ign.any(-1)
            m = np.where(any_reg, _last_argmax(np.where(reg, iou, -1.0)),
                         _last_argmax(np.where(ign, iou, -1.0)))  # fmt: skip
            h, i = any_reg | any_ign, ~any_reg & any_ign
        else:  # the best GT only, first among equal IoUs
            j = np.argmax(np.where(gvalid, iou, -1.0), axis=-1)  # (K,)
            m = np.broadcast_to(j, (n_t, n_k))
            passed = np.take_along_axis(ok, m[..., None], -1)[..., 0]
            i = passed & gign[np.arange(n_k), j]
            h = passed & ~i & ~np.take_along_axis(taken, m[..., None], -1)[..., 0]
        taken[tt[h], kk[h], m[h]] = True
        hit[:, :, d], on_ign[:, :, d] = h, i
    return hit, on_ign


def _ap(tp: np.ndarray, fp: np.ndarray, npos: int, interp: str) -> float:
    """Mean over thresholds of the AP of (T, n) flags in ranked order."""
    ctp, cfp = np.cumsum(tp, axis=1, dtype=np.float64), np.cumsum(fp, axis=1, dtype=np.float64)
    rec = ctp / npos
    seen = ctp + cfp
    prec = np.divide(ctp, seen, out=np.zeros_like(ctp), where=seen > 0)
    env = np.maximum.accumulate(prec[:, ::-1], axis=1)[:, ::-1]
    n = rec.shape[1]
    if interp == "all_point":
        mrec = np.concatenate([np.zeros((rec.shape[0], 1)), rec, np.ones((rec.shape[0], 1))], 1)
        mpre = np.concatenate([env, np.zeros((rec.shape[0], 1))], 1)
        return float(np.mean(np.sum(np.diff(mrec, axis=1) * mpre, axis=1)))
    points = RECALL_101 if interp == "coco101" else RECALL_11
    out = 0.0
    for t in range(rec.shape[0]):
        at = np.searchsorted(rec[t], points, side="left")
        out += float(np.mean(np.where(at < n, env[t, np.minimum(at, n - 1)], 0.0))) if n else 0.0
    return out / int(rec.shape[0])


@implementation("detection_map", "numpy", "padded")
def detection_map(det_boxes: Any, det_scores: Any, det_labels: Any, det_images: Any,
                  gt_boxes: Any, gt_labels: Any, gt_images: Any, gt_crowd: Any, gt_areas: Any,
                  num_images: int, num_classes: int, opts: MapOptions) -> Any:  # fmt: skip
    """Sort into groups, match all groups rank by rank, then rank each class and sum."""
    check(det_boxes, det_scores, det_labels, det_images, gt_boxes, gt_labels, gt_images,
          gt_crowd, gt_areas, num_images, num_classes)  # fmt: skip
    coco, one = opts.protocol == "coco", 1.0 if opts.pixel_inclusive else 0.0
    lo, hi = AREA_RANGES[opts.area_range]
    ts = thresholds(opts)
    db, ds = np.asarray(det_boxes, np.float64), np.asarray(det_scores, np.float64)
    dl, di = np.asarray(det_labels, np.int64), np.asarray(det_images, np.int64)
    gb, crowd = np.asarray(gt_boxes, np.float64), np.asarray(gt_crowd, bool)
    gl, gi = np.asarray(gt_labels, np.int64), np.asarray(gt_images, np.int64)
    areas = np.asarray(gt_areas, np.float64)
    ignore = crowd | (coco & ((areas < lo) | (areas > hi)))
    # detections: by group, score descending, index; kept while their rank < max_dets
    order = np.lexsort((-ds, di, dl))
    dkey = dl[order] * num_images + di[order]
    drank = _ranks(dkey)
    if opts.max_dets:
        keep = drank < opts.max_dets
        order, dkey, drank = order[keep], dkey[keep], drank[keep]
    # ground truths: by group, COCO's ignored last, index
    gorder = np.lexsort((ignore if coco else np.zeros(gl.size, bool), gi, gl))
    gkey = gl[gorder] * num_images + gi[gorder]
    grank = _ranks(gkey)
    keys = np.intersect1d(dkey, gkey)  # groups with both: the only ones that can match
    n_t, n = ts.size, order.size
    hit, on_ign = np.zeros((n_t, n), bool), np.zeros((n_t, n), bool)
    if keys.size:
        din, gin = np.isin(dkey, keys), np.isin(gkey, keys)
        kd, kg = np.searchsorted(keys, dkey[din]), np.searchsorted(keys, gkey[gin])
        n_d, n_g = int(drank[din].max()) + 1, int(grank[gin].max()) + 1
        dbox = np.zeros((keys.size, n_d, 4))
        dbox[kd, drank[din]] = db[order[din]]
        gbox = np.zeros((keys.size, n_g, 4))
        gvalid, gign, gcrowd = (np.zeros((keys.size, n_g), bool) for _ in range(3))
        sel = gorder[gin]
        gbox[kg, grank[gin]], gvalid[kg, grank[gin]] = gb[sel], True
        gign[kg, grank[gin]], gcrowd[kg, grank[gin]] = ignore[sel], crowd[sel]
        h, i = _match(dbox, gbox, gvalid, gign, gcrowd, ts, coco, opts.match_if == "ge", one)
        hit[:, din], on_ign[:, din] = h[:, kd, drank[din]], i[:, kd, drank[din]]
    if coco:
        b = db[order]
        a_d = (b[:, 2] - b[:, 0] + one) * (b[:, 3] - b[:, 1] + one)
        on_ign |= ~hit & ((a_d < lo) | (a_d > hi))
    tp, fp = hit & ~on_ign, ~hit & ~on_ign
    # per class: score descending, then (COCO) image, then index
    cls, s, img = dl[order], ds[order], di[order]
    rank = np.lexsort((order, img, -s, cls)) if coco else np.lexsort((order, -s, cls))
    tp, fp, cls = tp[:, rank], fp[:, rank], cls[rank]
    npos = np.bincount(gl[~ignore], minlength=num_classes)
    cuts = np.searchsorted(cls, np.arange(num_classes + 1))
    ap = np.full(num_classes, np.nan)
    for c in np.flatnonzero(npos):
        sl = slice(cuts[c], cuts[c + 1])
        ap[c] = _ap(tp[:, sl], fp[:, sl], int(npos[c]), opts.ap_interp)
    kept = ap[~np.isnan(ap)]
    return ap, np.asarray(kept.mean() if kept.size else np.nan)
