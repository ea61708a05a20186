"""box_iou_axis_aligned in NumPy: one broadcast over (N, 1) x (1, M), in the input dtype."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.box_iou_axis_aligned import OPTIONS, output_dtype


@implementation(
    "box_iou_axis_aligned",
    "numpy",
    "broadcast",
    supports=OPTIONS,
)
def box_iou(
    boxes_a: Any,
    boxes_b: Any,
    *,
    pixel_inclusive: bool = False,
    iou_eps: float = 0.0,
    zero_union: str = "zero",
) -> Any:
    """Broadcast min/max over an (N, M) grid; areas computed once per box."""
    dtype = output_dtype(boxes_a, boxes_b, pixel_inclusive, iou_eps, zero_union)
    a, b = boxes_a.astype(dtype, copy=False), boxes_b.astype(dtype, copy=False)
    one = dtype.type(1 if pixel_inclusive else 0)
    area_a = (a[:, 2] - a[:, 0] + one) * (a[:, 3] - a[:, 1] + one)
    area_b = (b[:, 2] - b[:, 0] + one) * (b[:, 3] - b[:, 1] + one)
    iw = np.minimum(a[:, None, 2], b[:, 2]) - np.maximum(a[:, None, 0], b[:, 0]) + one
    ih = np.minimum(a[:, None, 3], b[:, 3]) - np.maximum(a[:, None, 1], b[:, 1]) + one
    inter = np.maximum(iw, 0) * np.maximum(ih, 0)
    union = area_a[:, None] + area_b - inter + dtype.type(iou_eps)
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = inter / union
    if zero_union == "zero":
        iou[union == 0] = 0
    return iou
