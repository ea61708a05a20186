"""rpn_assignment_proposals in torch (CPU and CUDA): the batch's (B, G, A) IoU tensor and the
Matcher as reductions in float64 on the device; sampling by a stable sort of the injected
keys with the other labels pushed past the end; per image one topk per level, one decode,
and NMS from device-side row blocks of the upper-triangular mask with the greedy
sweep on the host.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from harness import implementation
from suites.anchor_generation_box_coder import CLIP
from suites.rpn_assignment_proposals import RpnOptions, check

F64 = torch.float64


def _iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(..., N, 4) x (..., M, 4) -> (..., N, M) from contiguous columns, in place where it
    can; zero union (0/0) gives 0."""
    ax1, ay1, ax2, ay2 = (c.contiguous()[..., :, None] for c in a.unbind(-1))
    bx1, by1, bx2, by2 = (c.contiguous()[..., None, :] for c in b.unbind(-1))
    inter = torch.minimum(ax2, bx2).sub_(torch.maximum(ax1, bx1)).clamp_(min=0)
    inter.mul_(torch.minimum(ay2, by2).sub_(torch.maximum(ay1, by1)).clamp_(min=0))
    union = ((ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1)).sub_(inter)
    return inter.div_(union).nan_to_num_(nan=0.0)


def _take(mask: torch.Tensor, keys: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Per row, the counts[b] entries of mask with the smallest keys (equal: lower index)."""
    ranked = torch.where(mask, keys, torch.full_like(keys, torch.inf))
    order = torch.sort(ranked, dim=1, stable=True).indices
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(keys.shape[1], device=keys.device).expand_as(order))
    return mask & (rank < counts[:, None])


def _nms(boxes: torch.Tensor, thresh: float, block: int = 512) -> torch.Tensor:
    """Greedy NMS of boxes already in score order: the kept positions. Row blocks of the
    mask against the later boxes are built on the device; the sweep runs on the host."""
    n = boxes.shape[0]
    removed = np.zeros(n, bool)
    kept = []
    for r0 in range(0, n, block):
        rows = r0 + np.flatnonzero(~removed[r0 : r0 + block])
        if rows.size == 0:
            continue
        sel = torch.from_numpy(rows).to(boxes.device)
        mask = (_iou(boxes[sel], boxes[r0:]) > thresh).cpu().numpy()
        for m, i in enumerate(rows.tolist()):
            if not removed[i]:
                kept.append(i)
                removed[i + 1 :] |= mask[m, i + 1 - r0 :]
    return torch.tensor(kept, dtype=torch.int64, device=boxes.device)


@implementation("rpn_assignment_proposals", ("torch_cpu", "torch_cuda"), "batched")
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
    """Batch-wide assignment and sampling; per image and level the proposal filter."""
    dtype = check(anchors, level_sizes, gt_boxes, objectness, deltas, sample_keys, image_height,
                  image_width, fg_iou_thresh, bg_iou_thresh, batch_size_per_image,
                  positive_fraction, pre_nms_top_n, post_nms_top_n, nms_thresh, score_thresh,
                  min_size)  # fmt: skip
    dev = anchors.device
    a = anchors.to(F64)
    n_img, n_gt, n_a = gt_boxes.shape[0], gt_boxes.shape[1], a.shape[0]
    minus_one = torch.full((n_img, n_a), -1, dtype=torch.int64, device=dev)
    if n_gt:
        iou = _iou(gt_boxes.to(F64), a[None])  # (B, G, A)
        best, own = iou.amax(dim=1), iou.argmax(dim=1)  # argmax: the first best GT
        matched = torch.where(best < bg_iou_thresh, minus_one,
                              torch.where(best < fg_iou_thresh, minus_one - 1, own))  # fmt: skip
        if opts.low_quality != "off":
            hit = iou == iou.amax(dim=2, keepdim=True)
            to = own if opts.low_quality == "own_best" else hit.to(torch.uint8).argmax(dim=1)
            matched = torch.where(hit.any(dim=1), to, matched)
    else:
        matched = minus_one
    labels = torch.where(matched >= 0, 1, torch.where(matched == -1, 0, -1)).to(torch.int64)
    cap = int(batch_size_per_image * positive_fraction)
    keys = sample_keys.to(F64)
    n_pos = (labels == 1).sum(dim=1).clamp(max=cap)
    n_neg = batch_size_per_image - (n_pos if opts.negatives_fill else torch.full_like(n_pos, cap))
    sp = _take(labels == 1, keys, n_pos)
    sn = _take(labels == 0, keys, n_neg)
    sizes = [int(n) for n in level_sizes.tolist()]
    props = torch.full((n_img, post_nms_top_n, 4), torch.nan, dtype=F64, device=dev)
    scores = torch.full((n_img, post_nms_top_n), torch.nan, dtype=F64, device=dev)
    obj, d = objectness.to(F64), deltas.to(F64)
    for b in range(n_img):
        tops, lvls, start = [], [], 0
        for k, n in enumerate(sizes):
            if n:  # topk's pick among values equal to its last one is unspecified: take
                x = obj[b, start : start + n]  # those above it, then equal ones by index
                cut = torch.topk(x, min(n, pre_nms_top_n)).values[-1]
                i = torch.cat([torch.nonzero(x > cut), torch.nonzero(x == cut)]).flatten()
                i = i[: min(n, pre_nms_top_n)]
                i = i[torch.sort(-x[i], stable=True).indices]
                tops.append(i + start)
                lvls.append(torch.full_like(i, k))
            start += n
        top, lvl = torch.cat(tops), torch.cat(lvls)
        p, c = a[top], d[b, top]
        w, h = p[:, 2] - p[:, 0], p[:, 3] - p[:, 1]
        cx, cy = c[:, 0] * w + (p[:, 0] + 0.5 * w), c[:, 1] * h + (p[:, 1] + 0.5 * h)
        pw = torch.exp(c[:, 2].clamp(max=CLIP)) * w
        ph = torch.exp(c[:, 3].clamp(max=CLIP)) * h
        box = torch.stack([(cx - 0.5 * pw).clamp(0.0, image_width),
                           (cy - 0.5 * ph).clamp(0.0, image_height),
                           (cx + 0.5 * pw).clamp(0.0, image_width),
                           (cy + 0.5 * ph).clamp(0.0, image_height)], dim=1)  # fmt: skip
        score = torch.sigmoid(obj[b, top])
        ok = ((box[:, 2] - box[:, 0] >= min_size) & (box[:, 3] - box[:, 1] >= min_size)
              & (score >= score_thresh))  # fmt: skip
        box, score, lvl, top = box[ok], score[ok], lvl[ok], top[ok]
        keep = torch.cat([torch.zeros(0, dtype=torch.int64, device=dev)] + [
            torch.nonzero(lvl == k).flatten()[_nms(box[lvl == k], nms_thresh)]
            for k in range(len(sizes))
        ])  # fmt: skip
        # score descending, then level, then anchor: the lower keys by stable sorts
        keep = keep[torch.sort(top[keep], stable=True).indices]
        keep = keep[torch.sort(lvl[keep], stable=True).indices]
        keep = keep[torch.sort(-score[keep], stable=True).indices][:post_nms_top_n]
        props[b, : keep.numel()], scores[b, : keep.numel()] = box[keep], score[keep]
    return labels, matched, sp, sn, props.to(dtype), scores.to(dtype)
