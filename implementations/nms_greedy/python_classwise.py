"""nms_greedy.batched in pure Python: one greedy sweep over the score order on plain floats,
where a kept box suppresses only later boxes of its own class."""

from __future__ import annotations

from typing import Any

from harness import implementation
from suites.nms_greedy import BATCHED_ARGS, NmsOptions


@implementation("nms_greedy.batched", "python", "classwise", max_flops=3e6)
def nms_batched(boxes: Any, scores: Any, idxs: Any, iou_threshold: float, opts: NmsOptions) -> Any:
    """Sorted by (-score, index); each kept box tests the later unsuppressed boxes of its class."""
    BATCHED_ARGS.check(boxes, scores, idxs, iou_threshold)
    b = [tuple(float(v) for v in box) for box in boxes]
    s = [float(v) for v in scores]
    c = [int(v) for v in idxs]
    t, ge = float(iou_threshold), opts.suppress_if == "ge"
    order = sorted(range(len(s)), key=lambda i: (-s[i], i))
    area = [(x2 - x1) * (y2 - y1) for x1, y1, x2, y2 in b]
    suppressed = [False] * len(s)
    keep = []
    for a, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(i)
        x1, y1, x2, y2 = b[i]
        for j in order[a + 1 :]:
            if suppressed[j] or c[j] != c[i]:
                continue
            iw = min(x2, b[j][2]) - max(x1, b[j][0])
            ih = min(y2, b[j][3]) - max(y1, b[j][1])
            inter = iw * ih if iw > 0 and ih > 0 else 0.0
            union = area[i] + area[j] - inter
            iou = inter / union if union != 0 else 0.0
            if iou >= t if ge else iou > t:
                suppressed[j] = True
    return keep
