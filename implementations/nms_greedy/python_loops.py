"""nms_greedy in pure Python: sorted() by score, then a scalar IoU per (kept, later) pair.

The slow end of the ladder: plain lists and floats, no NumPy; IoU in Python floats
(float64).
"""

from __future__ import annotations

from typing import Any

from harness import implementation
from suites.nms_greedy import check_threshold


def _validate(boxes: Any, scores: Any) -> None:
    if not isinstance(boxes, list) or any(
        not isinstance(row, list) or len(row) != 4 for row in boxes
    ):
        shape = (len(boxes),) if isinstance(boxes, list) else ()
        raise ValueError(f"boxes must have shape (K, 4), got a list like {shape}")
    for k, (x1, y1, x2, y2) in enumerate(boxes):
        if x2 < x1 or y2 < y1:
            raise ValueError(f"boxes has inverted boxes (x2 < x1 or y2 < y1) at row {k}")
    if not isinstance(scores, list) or any(isinstance(s, list) for s in scores):
        raise ValueError("scores must be 1-D (a flat list of numbers)")
    if len(scores) != len(boxes):
        raise ValueError(f"scores has {len(scores)} entries but boxes has {len(boxes)} rows")
    if any(s != s for s in scores):
        raise ValueError("scores contain NaN")


def _iou(a: list[float], b: list[float]) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    inter = iw * ih if iw > 0 and ih > 0 else 0.0
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union != 0 else 0.0  # zero union: IoU 0


@implementation(
    "nms_greedy", "python", "loops", supports={"suppress_if": ("gt", "ge")}, max_flops=1e6
)
def nms(boxes: Any, scores: Any, iou_threshold: float, *, suppress_if: str = "gt") -> Any:
    """Stable sort of indices by descending score, then nested loops over survivors."""
    t = check_threshold(iou_threshold, suppress_if)
    _validate(boxes, scores)
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
                suppressed[c] = iou >= t if suppress_if == "ge" else iou > t
    return keep
