"""nms_greedy.batched in NumPy: one shrinking sweep over the score order, where each kept
box's vectorised IoU row drops only survivors of its own class."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.nms_greedy import BATCHED_ARGS, NmsOptions


@implementation("nms_greedy.batched", "numpy", "classwise")
def nms_batched(boxes: Any, scores: Any, idxs: Any, iou_threshold: float, opts: NmsOptions) -> Any:
    """Stable descending sort, then one IoU row per kept box over the same-class survivors
    (the survivors of other classes are untouched; no coordinate offsets, so no precision
    lost to them)."""
    dtype = np.result_type(BATCHED_ARGS.check(boxes, scores, idxs, iou_threshold), np.float32)
    order = np.argsort(-scores, kind="stable")  # equal scores: lower index first
    b = boxes[order].astype(dtype, copy=False)
    cls = np.asarray(idxs)[order]
    x1, y1, x2, y2 = (np.ascontiguousarray(b[:, i]) for i in range(4))
    area = (x2 - x1) * (y2 - y1)
    thr = dtype.type(iou_threshold)
    alive = np.arange(len(order))
    keep = []
    while alive.size:
        i, rest = alive[0], alive[1:]
        keep.append(i)
        sel = cls[rest] == cls[i]
        same = rest[sel]
        iw = np.minimum(x2[i], x2[same]) - np.maximum(x1[i], x1[same])
        ih = np.minimum(y2[i], y2[same]) - np.maximum(y1[i], y1[same])
        inter = np.maximum(iw, 0) * np.maximum(ih, 0)
        union = area[i] + area[same] - inter
        iou = np.zeros_like(inter)
        np.divide(inter, union, out=iou, where=union != 0)  # zero union: IoU 0
        drop = iou > thr if opts.suppress_if == "gt" else iou >= thr
        sel[sel] = drop  # the same-class survivors that go, in place in the class mask
        alive = rest[~sel]
    return order[np.array(keep, dtype=np.int64)].astype(np.int64)
