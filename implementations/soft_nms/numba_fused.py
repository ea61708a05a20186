"""soft_nms in Numba: one compiled loop; each step decays the live boxes and finds the next
maximum in the same pass.

Live boxes are kept compacted in ascending index order, so the first maximum met is the
lowest index among equal scores; every value stays in the input dtype. prune='after' keeps
every box live and filters the emitted ones at the end.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.soft_nms import ARGS, SoftNmsOptions

_METHODS = {"gaussian": 0, "linear": 1, "hard": 2}


@numba.njit(cache=False)
def _run(b: Any, s: Any, t: Any, scale: Any, thr: Any, method: int, ge: bool, after: bool) -> Any:
    n = s.shape[0]
    live = np.empty(n, dtype=np.int64)
    m = 0
    best = -1
    for j in range(n):
        if after or s[j] >= thr:
            live[m] = j
            if best < 0 or s[j] > s[live[best]]:
                best = m
            m += 1
    keep = np.empty(n, dtype=np.int64)
    kept = np.empty(n, dtype=s.dtype)
    k = 0
    one = s.dtype.type(1.0)
    while m > 0:
        i = live[best]
        keep[k] = i
        kept[k] = s[i]
        k += 1
        x1, y1, x2, y2 = b[i, 0], b[i, 1], b[i, 2], b[i, 3]
        area_i = (x2 - x1) * (y2 - y1)
        w = 0
        best = -1
        for c in range(m):
            j = live[c]
            if j == i:
                continue
            iw = min(x2, b[j, 2]) - max(x1, b[j, 0])
            ih = min(y2, b[j, 3]) - max(y1, b[j, 1])
            if iw > 0 and ih > 0:
                inter = iw * ih
                union = area_i + (b[j, 2] - b[j, 0]) * (b[j, 3] - b[j, 1]) - inter
                iou = inter / union
                if method == 0:
                    s[j] *= np.exp(-(iou * iou) / scale)
                elif iou >= t if ge else iou > t:
                    s[j] = s[j] * (one - iou) if method == 1 else s[j] * (iou - iou)
            elif method == 2 and ge and t == 0:  # IoU 0 >= t = 0: hard decay to 0
                s[j] = s[j] * t
            if after or s[j] >= thr:
                live[w] = j
                if best < 0 or s[j] > s[live[best]]:
                    best = w
                w += 1
        m = w
    if after:  # the emitted boxes below the threshold go after the loop
        hit = kept[:k] >= thr
        return keep[:k][hit], kept[:k][hit]
    return keep[:k], kept[:k]


@implementation("soft_nms", "numba", "fused")
def soft_nms(boxes: Any, scores: Any, iou_threshold: float, sigma: float,
             score_threshold: float, opts: SoftNmsOptions) -> tuple[Any, Any]:  # fmt: skip
    """njit loop: decay + compaction + next argmax fused in one pass per emitted box."""
    dtype = np.result_type(ARGS.check(boxes, scores, iou_threshold, sigma, score_threshold),
                           np.float32)  # fmt: skip
    b = np.ascontiguousarray(boxes, dtype=dtype)
    s = np.array(scores, dtype=dtype)  # a working copy, decayed in place
    scale = sigma if opts.gaussian_form == "sigma" else 2.0 * sigma * sigma
    t, thr, sc = dtype.type(iou_threshold), dtype.type(score_threshold), dtype.type(scale)
    out: tuple[Any, Any] = _run(
        b, s, t, sc, thr, _METHODS[opts.method], opts.decay_if == "ge", opts.prune == "after"
    )
    return out
