"""nms_greedy.batched in Numba: nms_greedy's compiled sweep over the score order, skipping
later boxes of another class (one integer compare before any IoU)."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.nms_greedy import BATCHED_ARGS, NmsOptions


@numba.njit(cache=False)
def _sweep(b: Any, cls: Any, order: Any, thr: Any, ge: bool) -> Any:
    n = order.shape[0]
    suppressed = np.zeros(n, dtype=np.bool_)
    keep = np.empty(n, dtype=np.int64)
    k = 0
    for a in range(n):
        if suppressed[a]:
            continue
        i = order[a]
        keep[k] = i
        k += 1
        ci = cls[i]
        area_i = (b[i, 2] - b[i, 0]) * (b[i, 3] - b[i, 1])
        for c in range(a + 1, n):
            j = order[c]
            if suppressed[c] or cls[j] != ci:
                continue
            iw = min(b[i, 2], b[j, 2]) - max(b[i, 0], b[j, 0])
            ih = min(b[i, 3], b[j, 3]) - max(b[i, 1], b[j, 1])
            inter = iw * ih if iw > 0 and ih > 0 else iw - iw  # zero in the input dtype
            union = area_i + (b[j, 2] - b[j, 0]) * (b[j, 3] - b[j, 1]) - inter
            iou = inter / union if union != 0 else inter  # zero union: IoU 0
            if iou >= thr if ge else iou > thr:
                suppressed[c] = True
    return keep[:k]


@implementation("nms_greedy.batched", "numba", "classwise")
def nms_batched(boxes: Any, scores: Any, idxs: Any, iou_threshold: float, opts: NmsOptions) -> Any:
    """Python-side validation and stable sort; the njit kernel does the class-aware sweep."""
    dtype = np.result_type(BATCHED_ARGS.check(boxes, scores, idxs, iou_threshold), np.float32)
    order = np.argsort(-scores, kind="stable")  # equal scores: lower index first
    b = np.ascontiguousarray(boxes, dtype=dtype)
    cls = np.ascontiguousarray(idxs, dtype=np.int64)
    return _sweep(b, cls, order, dtype.type(iou_threshold), opts.suppress_if == "ge")
