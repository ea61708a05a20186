"""nms_greedy via OpenCV: cv2.dnn.NMSBoxes on (x, y, w, h) float boxes (Rect2d, double IoU).

Adapter: xyxy -> xywh in float64; scores go in as dense ranks 1..R in float32, because
NMSBoxes takes float32 scores (float64 scores could merge or lose order) and asserts
score_threshold >= 0 (negative scores could not pass its strict score > threshold filter);
ranks keep every order and tie exactly, and threshold 0 keeps every box.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from harness import implementation
from suites.nms_greedy import validate_nms_inputs


@implementation(
    "nms_greedy",
    "library",
    "cv2",
    arrays="numpy",
    requires=("cv2",),
    expected_failures={
        "zero_area_boxes": "OpenCV's rectangle overlap is 1 - jaccardDistance, and "
        "jaccardDistance returns 0 when both areas sum to <= eps, so any two zero-area "
        "boxes, however far apart, count as IoU 1 and suppress each other (the oracle, "
        "like box_iou's zero_union='zero', gives IoU 0 and keeps both)",
    },
)
def nms(boxes: Any, scores: Any, iou_threshold: float, *, suppress_if: str = "gt") -> Any:
    """cv2.dnn.NMSBoxes(xywh, dense score ranks, 0.0, t): IoU > t, equal ranks lower index first."""
    t = validate_nms_inputs(boxes, scores, iou_threshold, suppress_if)
    if suppress_if != "gt":
        raise ValueError(
            "cv2.dnn.NMSBoxes suppresses only IoU > t: suppress_if='ge' is not supported"
        )
    b = np.asarray(boxes, dtype=np.float64)
    xywh = np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1)
    ranks = np.unique(scores, return_inverse=True)[1].reshape(-1) + 1
    kept = cv2.dnn.NMSBoxes(xywh, ranks.astype(np.float32), 0.0, t)
    return np.asarray(kept, dtype=np.int64).reshape(-1)  # () when nothing is kept
