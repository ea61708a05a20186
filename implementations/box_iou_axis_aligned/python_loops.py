"""box_iou_axis_aligned in pure Python: a double loop over box pairs on plain floats.

Areas are computed once per box; every pair then costs a few comparisons and one division.
"""

from __future__ import annotations

import math
from typing import Any

from harness import implementation
from suites.box_iou_axis_aligned import OPTIONS, validate_options

Box = tuple[float, float, float, float]


def _rows(boxes: Any, name: str) -> list[Box]:
    """Nested lists -> float 4-tuples; the pure-Python twin of the suite's validate_boxes."""
    if not isinstance(boxes, list | tuple):
        raise ValueError(f"{name} must have shape (K, 4), got a {type(boxes).__name__}")
    rows: list[Box] = []
    for k, row in enumerate(boxes):
        if not isinstance(row, list | tuple) or len(row) != 4:
            raise ValueError(f"{name} must have shape (K, 4); row {k} is {row!r:.60}")
        for v in row:
            if isinstance(v, list | tuple):
                raise ValueError(f"{name} must have shape (K, 4); row {k} nests deeper")
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise TypeError(
                    f"{name} must have a real numeric dtype, got {type(v).__name__} values"
                )
        x1, y1, x2, y2 = (float(v) for v in row)  # integers are promoted to float64
        if x2 < x1 or y2 < y1:
            raise ValueError(f"{name} has inverted boxes (x2 < x1 or y2 < y1) at row {k}")
        rows.append((x1, y1, x2, y2))
    return rows


def _area(box: Box, one: float) -> float:
    x1, y1, x2, y2 = box
    return (x2 - x1 + one) * (y2 - y1 + one)


@implementation(
    "box_iou_axis_aligned",
    "python",
    "loops",
    supports=OPTIONS,
    max_flops=12.0 * 1000 * 1000,
)
def box_iou(
    boxes_a: Any,
    boxes_b: Any,
    *,
    pixel_inclusive: bool = False,
    iou_eps: float = 0.0,
    zero_union: str = "zero",
) -> list[list[float]]:
    """Double loop over pairs with per-box areas hoisted; float64 arithmetic throughout."""
    validate_options(pixel_inclusive, iou_eps, zero_union)
    a, b = _rows(boxes_a, "boxes_a"), _rows(boxes_b, "boxes_b")
    one = 1.0 if pixel_inclusive else 0.0
    eps = float(iou_eps)
    zero_value = math.nan if zero_union == "nan" else 0.0
    area_b = [_area(box, one) for box in b]
    out: list[list[float]] = []
    for box in a:
        ax1, ay1, ax2, ay2 = box
        area_a = _area(box, one)
        row: list[float] = []
        for (bx1, by1, bx2, by2), ab in zip(b, area_b, strict=True):
            # conditional min/max may drop a NaN: it already sits in that box's area
            iw = (ax2 if ax2 < bx2 else bx2) - (ax1 if ax1 > bx1 else bx1) + one
            ih = (ay2 if ay2 < by2 else by2) - (ay1 if ay1 > by1 else by1) + one
            inter = (iw if iw > 0.0 else 0.0) * (ih if ih > 0.0 else 0.0)
            union = area_a + ab - inter + eps
            row.append(inter / union if union != 0.0 else zero_value)
        out.append(row)
    return out
