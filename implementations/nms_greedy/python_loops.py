"""nms_greedy in pure Python: sorted() by score, then a scalar IoU per (kept, later) pair.

The slow end of the ladder: plain lists and floats, no NumPy; IoU in Python floats
(float64).
"""

from __future__ import annotations

from typing import Any

from harness import implementation
from suites.nms_greedy import ARGS, NmsOptions


def _iou(a: list[float], b: list[float]) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    inter = iw * ih if iw > 0 and ih > 0 else 0.0
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union != 0 else 0.0  # zero union: IoU 0


@implementation("nms_greedy", "python", "loops", max_flops=1e6)
def nms(boxes: Any, scores: Any, iou_threshold: float, opts: NmsOptions) -> list[int]:
    """Stable sort of indices by descending score, then nested loops over survivors."""
    ARGS.check(boxes, scores, iou_threshold)
    t, ge = float(iou_threshold), opts.suppress_if == "ge"
    order = sorted(range(len(scores)), key=lambda i: -scores[i])  # stable: lower index first
    suppressed = [False] * len(order)
    keep = []
    for a, i in enumerate(order):
        if suppressed[a]:
            continue
        keep.append(i)
        for c in range(a + 1, len(order)):
            if not suppressed[c]:
                iou = _iou(boxes[i], boxes[order[c]])
                suppressed[c] = iou >= t if ge else iou > t
    return keep
