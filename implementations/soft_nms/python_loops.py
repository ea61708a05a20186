"""soft_nms in pure Python: lists and floats, a scalar IoU per (emitted, live) pair.

The slow end of the ladder; arithmetic in Python floats (float64), the IoU inlined into
the decay loop and the live boxes held as (index, x1, y1, x2, y2, area) tuples.
"""

from __future__ import annotations

import math
from typing import Any

from harness import implementation
from suites.soft_nms import ARGS, SoftNmsOptions


@implementation("soft_nms", "python", "loops", max_flops=4e5)
def soft_nms(boxes: Any, scores: Any, iou_threshold: float, sigma: float,
             score_threshold: float, opts: SoftNmsOptions) -> tuple[Any, Any]:  # fmt: skip
    """A dict of live scores; max() over it (first maximum: lowest index), nested loops;
    prune='after' keeps every box live and filters the emitted ones at the end."""
    ARGS.check(boxes, scores, iou_threshold, sigma, score_threshold)
    t, thr, ge = float(iou_threshold), float(score_threshold), opts.decay_if == "ge"
    gaussian, linear = opts.method == "gaussian", opts.method == "linear"
    scale = sigma if opts.gaussian_form == "sigma" else 2.0 * sigma * sigma
    geo = {}
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        geo[i] = (x1, y1, x2, y2, (x2 - x1) * (y2 - y1))
    during = opts.prune == "during"
    # insertion order is index order: max() takes the lowest index among equal scores
    live = {i: float(s) for i, s in enumerate(scores) if s >= thr or not during}
    keep, kept = [], []
    while live:
        i = max(live, key=live.__getitem__)
        keep.append(i)
        kept.append(live.pop(i))
        ax1, ay1, ax2, ay2, area = geo[i]
        for j in list(live):
            bx1, by1, bx2, by2, barea = geo[j]
            iw = (ax2 if ax2 < bx2 else bx2) - (ax1 if ax1 > bx1 else bx1)
            ih = (ay2 if ay2 < by2 else by2) - (ay1 if ay1 > by1 else by1)
            inter = iw * ih if iw > 0 and ih > 0 else 0.0
            union = area + barea - inter
            iou = inter / union if union != 0 else 0.0  # zero union: IoU 0
            if gaussian:
                if iou > 0:
                    live[j] *= math.exp(-iou * iou / scale)
            elif iou >= t if ge else iou > t:
                live[j] *= 1.0 - iou if linear else 0.0
            if during and live[j] < thr:
                del live[j]
    if not during:  # the emitted boxes below the threshold go after the loop
        pairs = [(i, v) for i, v in zip(keep, kept, strict=True) if v >= thr]
        keep, kept = [i for i, _ in pairs], [v for _, v in pairs]
    return keep, kept
