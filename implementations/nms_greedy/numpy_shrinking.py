"""nms_greedy in NumPy: sort once, then per kept box one vectorised IoU against the survivors.

The survivor list shrinks every step (boolean compaction), so late steps are cheap; IoU is
computed in the input dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.nms_greedy import ARGS, NmsOptions


@implementation("nms_greedy", "numpy", "shrinking")
def nms(boxes: Any, scores: Any, iou_threshold: float, opts: NmsOptions) -> Any:
    """Stable descending sort, then one IoU row per kept box over the shrinking survivors."""
    dtype = np.result_type(ARGS.check(boxes, scores, iou_threshold), np.float32)
    order = np.argsort(-scores, kind="stable")  # equal scores: lower index first
    b = boxes[order].astype(dtype, copy=False)
    x1, y1, x2, y2 = (np.ascontiguousarray(b[:, i]) for i in range(4))
    area = (x2 - x1) * (y2 - y1)
    thr = dtype.type(iou_threshold)
    alive = np.arange(len(order))
    keep = []
    while alive.size:
        i, rest = alive[0], alive[1:]
        keep.append(i)
        iw = np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest])
        ih = np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest])
        inter = np.maximum(iw, 0) * np.maximum(ih, 0)
        union = area[i] + area[rest] - inter
        iou = np.zeros_like(inter)
        np.divide(inter, union, out=iou, where=union != 0)  # zero union: IoU 0
        drop = iou > thr if opts.suppress_if == "gt" else iou >= thr  # NaN IoU never drops
        alive = rest[~drop]
    return order[np.array(keep, dtype=np.int64)].astype(np.int64)
