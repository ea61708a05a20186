"""nms_greedy via OpenCV: cv2.dnn.NMSBoxes on (x, y, w, h) float boxes (Rect2d).

Adapter: xyxy -> xywh in float64; scores go in as dense ranks 1..R in float32, because
NMSBoxes takes float32 scores (float64 scores could merge or lose order) and asserts
score_threshold >= 0 (negative scores could not pass its strict score > threshold filter);
ranks keep every order and tie exactly, and threshold 0 keeps every box. OpenCV computes
each overlap in double but rounds it to float32 before comparing it with the (float) t.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from harness import implementation
from suites.nms_greedy import ARGS, NmsOptions


@implementation(
    "nms_greedy",
    "library",
    "cv2",
    arrays="numpy",
    requires=("cv2",),
    supports={"suppress_if": ("gt",)},  # NMSBoxes suppresses only IoU > t
    expected_failures={
        "zero_area_boxes": "OpenCV's rectangle overlap is 1 - jaccardDistance, and "
        "jaccardDistance returns 0 when both areas sum to <= eps, so any two zero-area "
        "boxes, however far apart, count as IoU 1 and suppress each other (the oracle, "
        "like box_iou's zero_union='zero', gives IoU 0 and keeps both)",
        "near_threshold_f64_f32ulps": "NMSBoxes decides in float32: rectOverlap returns "
        "1.f - static_cast<float>(jaccardDistance(a, b)) and nms_threshold is a float, so "
        "float64 boxes whose IoU is a few float32 ulps from t fall on either side",
    },
)
def nms(boxes: Any, scores: Any, iou_threshold: float, opts: NmsOptions) -> Any:
    """cv2.dnn.NMSBoxes(xywh, dense score ranks, 0.0, t): IoU > t, equal ranks lower index first."""
    ARGS.check(boxes, scores, iou_threshold)
    b = np.asarray(boxes, dtype=np.float64)
    xywh = np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1)
    ranks = np.unique(scores, return_inverse=True)[1].reshape(-1) + 1
    t = float(iou_threshold)
    # OpenCV's stubs ask for sequences; NMSBoxes takes (and is fastest with) NumPy arrays
    kept = cv2.dnn.NMSBoxes(xywh, ranks.astype(np.float32), 0.0, t)  # type: ignore[arg-type]
    return np.asarray(kept, dtype=np.int64).reshape(-1)  # () when nothing is kept
