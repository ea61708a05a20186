"""soft_nms via OpenCV: cv2.dnn.softNMSBoxes on integer (x, y, w, h) rectangles.

Adapter: softNMSBoxes takes cv::Rect (int) boxes and float32 scores and decides in float32
(overlap = 1 - float(1 - IoU)); it decays linearly only where overlap > nms_threshold, so
decay_if='ge' passes the float32 just below t (the same float comparison, one ulp lower;
at t = 0 linear decay by 1 - 0 changes nothing either way); two_sigma_squared passes
2 sigma^2 as sigma. Ties: OpenCV's max_element comparator takes the lower index first.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from harness import implementation
from suites.soft_nms import ARGS, CV2_DIVERGENCES, SoftNmsOptions

_METHODS = {
    "gaussian": cv2.dnn.SOFT_NMSMETHOD_SOFTNMS_GAUSSIAN,
    "linear": cv2.dnn.SOFT_NMSMETHOD_SOFTNMS_LINEAR,
}


@implementation(
    "soft_nms",
    "library",
    "cv2",
    arrays="numpy",
    requires=("cv2",),
    # softNMSBoxes has no hard method and drops a box as soon as it falls below the threshold
    supports={"method": ("gaussian", "linear"), "prune": ("during",)},
    expected_failures=CV2_DIVERGENCES,
)
def soft_nms(boxes: Any, scores: Any, iou_threshold: float, sigma: float,
             score_threshold: float, opts: SoftNmsOptions) -> tuple[Any, Any]:  # fmt: skip
    """cv2.dnn.softNMSBoxes(int xywh, float32 scores, threshold, t, 0, sigma, method)."""
    dtype = np.result_type(ARGS.check(boxes, scores, iou_threshold, sigma, score_threshold),
                           np.float32)  # fmt: skip
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    xywh = np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1)
    if np.any(xywh != np.round(xywh)) or np.any(np.abs(xywh) >= 2**31):
        raise ValueError("boxes: cv2.dnn.softNMSBoxes takes integer rectangles (int32)")
    t = np.float32(iou_threshold)
    if opts.decay_if == "ge" and t > 0:
        t = np.nextafter(t, np.float32(-1.0))  # overlap >= t  <=>  overlap > prev(t)
    scale = sigma if opts.gaussian_form == "sigma" else 2.0 * sigma * sigma
    # OpenCV's stubs ask for sequences; softNMSBoxes takes NumPy arrays as well
    out, kept = cv2.dnn.softNMSBoxes(
        list(map(tuple, xywh.astype(np.int32).tolist())),
        np.asarray(scores, dtype=np.float32),  # type: ignore[arg-type]
        float(score_threshold),
        float(t),
        0,
        float(scale),
        _METHODS[opts.method],
    )
    indices = np.asarray(kept, dtype=np.int64).reshape(-1)
    return indices, np.asarray(out, dtype=dtype).reshape(-1)
