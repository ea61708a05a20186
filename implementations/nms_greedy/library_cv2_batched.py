"""nms_greedy.batched via OpenCV: cv2.dnn.NMSBoxesBatched on (x, y, w, h) float boxes.

The adapter of nms_greedy's cv2 reference (xywh in float64, scores as dense ranks 1..R in
float32, score_threshold 0), plus the class ids as int32. OpenCV offsets the boxes by class
internally and returns the kept indices of all classes by descending score.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from harness import implementation
from suites.nms_greedy import BATCHED_ARGS, NmsOptions


@implementation(
    "nms_greedy.batched",
    "library",
    "cv2",
    arrays="numpy",
    requires=("cv2",),
    supports={"suppress_if": ("gt",)},  # NMSBoxesBatched suppresses only IoU > t
    expected_failures={
        "zero_area_boxes": "OpenCV's rectangle overlap is 1 - jaccardDistance, and "
        "jaccardDistance returns 0 when both areas sum to <= eps, so two zero-area boxes "
        "of one class count as IoU 1 and suppress each other (the oracle gives IoU 0)",
        "near_threshold_f64_f32ulps": "NMSBoxesBatched decides in float32 (as NMSBoxes): "
        "float64 boxes whose IoU is a few float32 ulps from t fall on either side",
    },
)
def nms_batched(boxes: Any, scores: Any, idxs: Any, iou_threshold: float, opts: NmsOptions) -> Any:
    """cv2.dnn.NMSBoxesBatched(xywh, dense score ranks, class ids, 0.0, t)."""
    BATCHED_ARGS.check(boxes, scores, idxs, iou_threshold)
    b = np.asarray(boxes, dtype=np.float64)
    xywh = np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1)
    ranks = np.unique(scores, return_inverse=True)[1].reshape(-1) + 1
    ids = np.asarray(idxs, dtype=np.int32)
    # OpenCV's stubs ask for sequences; NMSBoxesBatched takes NumPy arrays
    kept = cv2.dnn.NMSBoxesBatched(
        xywh,  # type: ignore[arg-type]
        ranks.astype(np.float32),  # type: ignore[arg-type]
        ids,  # type: ignore[arg-type]
        0.0,
        float(iou_threshold),
    )
    return np.asarray(kept, dtype=np.int64).reshape(-1)
