"""rpn_assignment_proposals in NumPy: one (B, G, A) IoU tensor for the whole batch, the
Matcher and the low-quality rematch as whole-array reductions, argpartition top-k per
level, one decode for every candidate, and NMS from an upper-triangular mask built in row
blocks with a short sweep over the kept rows.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np

from harness import implementation
from suites.anchor_generation_box_coder import CLIP
from suites.rpn_assignment_proposals import RpnOptions, check


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(..., N, 4) x (..., M, 4) -> (..., N, M) from contiguous columns, in place where it
    can; zero union gives 0."""
    ax1, ay1, ax2, ay2 = (np.ascontiguousarray(a[..., k])[..., :, None] for k in range(4))
    bx1, by1, bx2, by2 = (np.ascontiguousarray(b[..., k])[..., None, :] for k in range(4))
    inter = np.minimum(ax2, bx2)
    inter -= np.maximum(ax1, bx1)
    np.maximum(inter, 0.0, out=inter)
    ih = np.minimum(ay2, by2)
    ih -= np.maximum(ay1, by1)
    np.maximum(ih, 0.0, out=ih)
    inter *= ih
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1)
    union -= inter
    out: np.ndarray = np.divide(inter, union, out=ih, where=union != 0)
    out[union == 0] = 0.0
    return out


def _top(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest values, largest first, equal values lower index first."""
    if k >= values.size:
        return np.argsort(-values, kind="stable")
    part = np.argpartition(-values, k - 1)[:k]
    cut = values[part].min()
    idx = np.concatenate([np.flatnonzero(values > cut), np.flatnonzero(values == cut)])[:k]
    return idx[np.argsort(-values[idx], kind="stable")]


def _nms(boxes: np.ndarray, thresh: float, block: int = 512) -> np.ndarray:
    """Greedy NMS of boxes already in score order: the kept positions. The mask is built
    in row blocks against the later boxes only (half the pairs), skipping removed rows."""
    removed = np.zeros(len(boxes), bool)
    kept = []
    for r0 in range(0, len(boxes), block):
        rows = r0 + np.flatnonzero(~removed[r0 : r0 + block])
        if rows.size == 0:
            continue
        mask = _iou(boxes[rows], boxes[r0:]) > thresh
        for m, i in enumerate(rows.tolist()):
            if not removed[i]:
                kept.append(i)
                removed[i + 1 :] |= mask[m, i + 1 - r0 :]
    return np.array(kept, dtype=np.int64)


@implementation("rpn_assignment_proposals", "numpy", "vectorised")
def rpn_assignment_proposals(
    anchors: Any,
    level_sizes: Any,
    gt_boxes: Any,
    objectness: Any,
    deltas: Any,
    sample_keys: Any,
    image_height: float,
    image_width: float,
    fg_iou_thresh: float,
    bg_iou_thresh: float,
    batch_size_per_image: int,
    positive_fraction: float,
    pre_nms_top_n: int,
    post_nms_top_n: int,
    nms_thresh: float,
    score_thresh: float,
    min_size: float,
    opts: RpnOptions,
) -> Any:
    """Batch-wide assignment; per image and level the proposal filter."""
    dtype = check(anchors, level_sizes, gt_boxes, objectness, deltas, sample_keys, image_height,
                  image_width, fg_iou_thresh, bg_iou_thresh, batch_size_per_image,
                  positive_fraction, pre_nms_top_n, post_nms_top_n, nms_thresh, score_thresh,
                  min_size)  # fmt: skip
    a = np.asarray(anchors, np.float64)
    n_img, n_gt, n_a = gt_boxes.shape[0], gt_boxes.shape[1], a.shape[0]
    if n_gt:
        iou = _iou(np.asarray(gt_boxes, np.float64), a[None])  # (B, G, A)
        best, own = iou.max(axis=1), iou.argmax(axis=1)
        matched = np.where(best < bg_iou_thresh, -1, np.where(best < fg_iou_thresh, -2, own))
        if opts.low_quality != "off":
            hit = iou == iou.max(axis=2, keepdims=True)  # (B, G, A)
            again = hit.any(axis=1)
            to = own if opts.low_quality == "own_best" else hit.argmax(axis=1)
            matched = np.where(again, to, matched)
    else:
        matched = np.full((n_img, n_a), -1, dtype=np.int64)
    matched = matched.astype(np.int64)
    labels = np.where(matched >= 0, 1, np.where(matched == -1, 0, -1)).astype(np.int64)
    cap = int(batch_size_per_image * positive_fraction)
    sp, sn = np.zeros((n_img, n_a), bool), np.zeros((n_img, n_a), bool)
    keys = np.asarray(sample_keys)
    for b in range(n_img):
        pos, neg = np.flatnonzero(labels[b] == 1), np.flatnonzero(labels[b] == 0)
        n_pos = min(pos.size, cap)
        n_neg = min(neg.size, batch_size_per_image - (n_pos if opts.negatives_fill else cap))
        sp[b, pos[np.argsort(keys[b, pos], kind="stable")[:n_pos]]] = True
        sn[b, neg[np.argsort(keys[b, neg], kind="stable")[:n_neg]]] = True
    starts = np.concatenate([[0], np.cumsum(np.asarray(level_sizes))])
    obj, d = np.asarray(objectness, np.float64), np.asarray(deltas, np.float64)
    props = np.full((n_img, post_nms_top_n, 4), np.nan)
    scores = np.full((n_img, post_nms_top_n), np.nan)
    for b in range(n_img):
        top = np.concatenate([_top(obj[b, s:e], pre_nms_top_n) + s
                              for s, e in pairwise(starts)])  # fmt: skip
        lvl = np.searchsorted(starts, top, side="right") - 1
        p, c = a[top], d[b, top]
        w, h = p[:, 2] - p[:, 0], p[:, 3] - p[:, 1]
        cx, cy = c[:, 0] * w + (p[:, 0] + 0.5 * w), c[:, 1] * h + (p[:, 1] + 0.5 * h)
        pw, ph = np.exp(np.minimum(c[:, 2], CLIP)) * w, np.exp(np.minimum(c[:, 3], CLIP)) * h
        box = np.stack([cx - 0.5 * pw, cy - 0.5 * ph, cx + 0.5 * pw, cy + 0.5 * ph], axis=1)
        np.clip(box[:, 0::2], 0.0, image_width, out=box[:, 0::2])
        np.clip(box[:, 1::2], 0.0, image_height, out=box[:, 1::2])
        score = 1.0 / (1.0 + np.exp(-obj[b, top]))
        ok = ((box[:, 2] - box[:, 0] >= min_size) & (box[:, 3] - box[:, 1] >= min_size)
              & (score >= score_thresh))  # fmt: skip
        box, score, lvl, top = box[ok], score[ok], lvl[ok], top[ok]
        keep = np.concatenate([np.zeros(0, np.int64)] + [
            np.flatnonzero(lvl == k)[_nms(box[lvl == k], nms_thresh)]
            for k in range(len(starts) - 1)
        ])  # fmt: skip
        keep = keep[np.lexsort((top[keep], lvl[keep], -score[keep]))][:post_nms_top_n]
        props[b, : keep.size], scores[b, : keep.size] = box[keep], score[keep]
    return labels, matched, sp, sn, props.astype(dtype), scores.astype(dtype)
