"""nms_greedy.batched in CuPy: the blocked IoU-and-class suppression mask of the torch
version, built with CuPy array operations on the device; the short sweep runs on the host.

Boxes are sorted once (stable, lower index first among ties); for each block of 512 sorted
boxes the still-live rows get their mask against every later box (IoU over the threshold
and the same class id) in one broadcast, copied to the host and walked in order.
"""

from __future__ import annotations

from typing import Any

import cupy as cp
import numpy as np

from harness import implementation
from suites.nms_greedy import BATCHED_ARGS, NmsOptions

_BLOCK = 512


@implementation("nms_greedy.batched", "cupy", "classwise_mask")
def nms_batched(boxes: Any, scores: Any, idxs: Any, iou_threshold: float, opts: NmsOptions) -> Any:
    """Blocked IoU-and-class mask in the input dtype on the device, sweep on the host."""
    dtype, n = BATCHED_ARGS.check(boxes, scores, idxs, iou_threshold), boxes.shape[0]
    # + 0.0 folds -0.0 into +0.0 (a radix sort would order them apart); equal scores keep
    # their index order
    order = cp.argsort(-(scores + 0.0))  # CuPy sorts are always stable
    b = boxes[order].astype(dtype, copy=False)
    cls = idxs[order]
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    thr = dtype.type(iou_threshold)
    ge = opts.suppress_if == "ge"
    removed = np.zeros(n, dtype=bool)  # host side, in sorted order
    keep: list[int] = []
    for r0 in range(0, n, _BLOCK):
        rows_host = np.flatnonzero(~removed[r0 : r0 + _BLOCK]) + r0
        if rows_host.size == 0:
            continue
        rows = cp.asarray(rows_host)
        r, c = b[rows, None, :], b[None, r0:, :]
        iw = cp.maximum(cp.minimum(r[..., 2], c[..., 2]) - cp.maximum(r[..., 0], c[..., 0]), 0)
        ih = cp.maximum(cp.minimum(r[..., 3], c[..., 3]) - cp.maximum(r[..., 1], c[..., 1]), 0)
        inter = iw * ih
        union = area[rows, None] + area[None, r0:] - inter
        iou = cp.where(union != 0, inter / cp.where(union != 0, union, 1), 0)  # 0/0 -> 0
        hit = (iou >= thr) if ge else (iou > thr)
        mask = cp.asnumpy(hit & (cls[rows, None] == cls[None, r0:]))
        live = removed[r0:]  # a view: updates land in ``removed``
        for m, i in enumerate(rows_host.tolist()):
            if not live[i - r0]:
                keep.append(i)
                live[i - r0 + 1 :] |= mask[m, i - r0 + 1 :]
    return order[cp.asarray(np.array(keep, dtype=np.int64))]
