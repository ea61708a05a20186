"""rotated_box_iou through OpenCV: cv2.rotatedRectangleIntersection + cv2.contourArea.

What an OpenCV user writes: each box as a RotatedRect ((cx, cy), (w, h), angle in
degrees), rotatedRectangleIntersection per pair and contourArea of the region it returns;
IoU = I / (w h + w' h' - I). OpenCV's RotatedRect turns the x axis toward the y axis by a
positive angle (clockwise on a y-down image), the suite's rotation='x_toward_y'; 'y_toward_x'
(detectron2, mmcv) is the same box with the angle negated. Radians are converted to degrees
in float64 before OpenCV rounds the angle to float.

Pairs whose circumscribed circles are apart, and boxes of zero area, cannot meet in a
positive area: a vectorised test skips them (OpenCV would return INTERSECT_NONE), so the
Python loop runs only on the pairs that may overlap.

Accuracy: RotatedRect, its corners and the intersection region are float32 (the area sum
is double): a corner is off by ~eps32 x the coordinates, IoU by ~1e-7 on the suite's boxes,
never within the float64 tolerance (1e-10): every float64 case with overlapping boxes is an
expected failure. Worse, OpenCV merges intersection vertices whose squared distance is at
most 1e-6 x the larger box's area (its samePointEps), i.e. vertices up to ~0.01-0.02 apart
for 10-20 wide boxes; where the exact region has two vertices that close, a sliver of it
is cut off and IoU moves by up to ~6e-4 (seen on random_f32 and multi_block): past the
float32 tolerance (2e-5) too. Far from the origin (centres near 1e5) float32 corners are
~8e-3 apart: IoU ~1e-3 off there, whatever the input dtype. Coincident edges in another
corner order (a box against itself as (h, w, theta + 90 deg)) can come out grossly wrong:
float32 noise makes the parallel edges cross at spurious points (see _COINCIDENT).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from harness import implementation
from suites.rotated_box_iou import ARGS, RotatedIouOptions

_F32 = (
    "OpenCV intersects rotated rectangles in float32: IoU ~1e-7 off (~3e-5 for 1000:1 "
    "needles; up to ~6e-4 where it merges close region vertices), past the float64 "
    "tolerance 1e-10"
)
_COINCIDENT = (
    "float32, and OpenCV mismeasures a box against itself written as (h, w, theta + 90 deg): "
    "float32 noise on its four coincident edges adds spurious crossings, and the region it "
    "returns (8 vertices, not in convex order) has area 20.3 of 35.1 (IoU 0.41, not 1)"
)
_MERGE = (
    "OpenCV merges intersection vertices within sqrt(1e-6 x max box area) (~0.01-0.02 here): "
    "a pair whose exact region has two vertices that close loses a sliver, IoU up to ~6e-4 off"
)
_FAR = (
    "OpenCV's float32 corners near 1e5 are ~8e-3 apart (its RotatedRect holds the raw "
    "centre): IoU ~1e-3 off"
)


def _rects(boxes: np.ndarray, opts: RotatedIouOptions) -> list[Any]:
    """((cx, cy), (w, h), degrees) per box, OpenCV's rotation sense."""
    deg = boxes[:, 4] if opts.angle_unit == "degrees" else np.rad2deg(boxes[:, 4])
    deg = -deg if opts.rotation == "y_toward_x" else deg
    cx, cy, w, h = boxes[:, :4].T.tolist()
    return list(zip(zip(cx, cy, strict=True), zip(w, h, strict=True), deg.tolist(), strict=True))


@implementation(
    "rotated_box_iou",
    "library",
    "cv2",
    arrays="numpy",
    requires=("cv2",),
    max_flops=300.0 * 500 * 500,  # ~10 us a call on the ~1/5 of pairs that may meet: 0.6 s
    expected_failures={
        "random_f32": _MERGE,
        "multi_block": _MERGE,
        # the bench cases are random boxes too: a few pairs fail, so they are not timed
        "bench_100": _MERGE,
        "bench_500": _MERGE,
        "random_f64": _F32,
        "degrees_f64": _F32,
        "y_toward_x_f64": _F32,
        "nan_union_f64": _F32,
        "identical_f64": _F32,
        "reparametrised": _COINCIDENT,
        "right_angles_degrees": _F32,
        "zero_size": _F32,
        "thin_1000_to_1": _F32,
        "far_coordinates_f32": _FAR,
        "far_coordinates_f64": _FAR,
    },
)
def rotated_box_iou(boxes_a: Any, boxes_b: Any, opts: RotatedIouOptions) -> Any:
    """cv2.rotatedRectangleIntersection + cv2.contourArea per pair that may meet."""
    dtype = ARGS.check(boxes_a, boxes_b)
    a = np.asarray(boxes_a, dtype=np.float64)
    b = np.asarray(boxes_b, dtype=np.float64)
    area_a, area_b = a[:, 2] * a[:, 3], b[:, 2] * b[:, 3]
    radius_a, radius_b = np.hypot(a[:, 2], a[:, 3]) / 2, np.hypot(b[:, 2], b[:, 3]) / 2
    gap = np.hypot(a[:, None, 0] - b[None, :, 0], a[:, None, 1] - b[None, :, 1])
    near = gap <= (radius_a[:, None] + radius_b[None, :]) * (1 + 1e-6)  # float32 slack
    near &= (area_a > 0)[:, None] & (area_b > 0)[None, :]
    rects_a, rects_b = _rects(a, opts), _rects(b, opts)
    inter = np.zeros((len(a), len(b)))
    for i, j in zip(*np.nonzero(near), strict=True):
        kind, region = cv2.rotatedRectangleIntersection(rects_a[i], rects_b[j])
        if kind != cv2.INTERSECT_NONE and region is not None and len(region) >= 3:
            inter[i, j] = cv2.contourArea(region)
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = inter / union
    if opts.zero_union == "zero":
        iou[union == 0] = 0.0
    return iou.astype(dtype, copy=False)
