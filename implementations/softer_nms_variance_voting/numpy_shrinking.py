"""softer_nms_variance_voting in NumPy: a shrinking candidate list in score order.

The boxes are sorted once (stable, descending); every pick works only on the boxes still
alive, held as contiguous coordinate columns in score order, so each step costs O(alive)
and the list is compacted as boxes are suppressed. Arithmetic in the input dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.softer_nms_variance_voting import ARGS, SofterNmsOptions


def _iou(box: Any, x1: Any, y1: Any, x2: Any, y2: Any, area: Any) -> Any:
    iw = np.minimum(box[2], x2) - np.maximum(box[0], x1)
    ih = np.minimum(box[3], y2) - np.maximum(box[1], y1)
    inter = np.maximum(iw, 0) * np.maximum(ih, 0)
    union = (box[2] - box[0]) * (box[3] - box[1]) + area - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union != 0)


@implementation("softer_nms_variance_voting", "numpy", "shrinking")
def softer_nms(boxes: Any, scores: Any, variances: Any, iou_threshold: float, sigma_t: float,
               opts: SofterNmsOptions) -> tuple[Any, Any]:  # fmt: skip
    """Sorted once; per pick, IoU row over the alive boxes, vote, then compact the list."""
    dtype = ARGS.check(boxes, scores, variances, iou_threshold, sigma_t)
    order = np.argsort(-np.asarray(scores), kind="stable")
    b = np.asarray(boxes, dtype=dtype)[order]
    inv = (1 / np.asarray(variances, dtype=dtype))[order]
    t, s = dtype.type(iou_threshold), dtype.type(sigma_t)
    floor = dtype.type(0) if opts.voters == "overlapping" else t
    idx = order
    keep, voted = [], []
    while idx.size:
        x1, y1, x2, y2 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
        area = (x2 - x1) * (y2 - y1)
        iou = _iou(b[0], x1, y1, x2, y2, area)
        vote = iou > floor
        vote[0] = True
        w = np.exp(-np.square(1 - iou[vote]) / s)[:, None] * inv[vote]
        box = (w * b[vote]).sum(axis=0) / w.sum(axis=0)
        keep.append(idx[0])
        voted.append(box)
        ref = box if opts.suppress_with == "voted" else b[0]
        stay = ~(_iou(ref, x1, y1, x2, y2, area) > t)
        stay[0] = False
        b, inv, idx = b[stay], inv[stay], idx[stay]
    out = np.array(voted, dtype=dtype).reshape(-1, 4)
    return np.array(keep, dtype=np.int64), out
