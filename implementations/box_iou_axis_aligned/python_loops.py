"""box_iou_axis_aligned in pure Python: a double loop over box pairs on plain floats.

Areas are computed once per box; every pair then costs a few comparisons and one division.
"""

from __future__ import annotations

import math
from typing import Any

from harness import implementation
from suites.box_iou_axis_aligned import BoxIouOptions, check

Box = tuple[float, float, float, float]


def _rows(boxes: list[list[Any]]) -> list[Box]:
    """Nested lists -> float 4-tuples (integers are promoted to float64)."""
    return [(float(x1), float(y1), float(x2), float(y2)) for x1, y1, x2, y2 in boxes]


def _area(box: Box, one: float) -> float:
    x1, y1, x2, y2 = box
    return (x2 - x1 + one) * (y2 - y1 + one)


def _pair(p: Box, q: Box, one: float, eps: float, zero_value: float) -> float:
    iw = min(p[2], q[2]) - max(p[0], q[0]) + one
    ih = min(p[3], q[3]) - max(p[1], q[1]) + one
    inter = (iw if iw > 0.0 else 0.0) * (ih if ih > 0.0 else 0.0)
    union = _area(p, one) + _area(q, one) - inter + eps
    return inter / union if union != 0.0 else zero_value


@implementation("box_iou_axis_aligned", "python", "loops", max_flops=12.0 * 1000 * 1000)
def box_iou(boxes_a: Any, boxes_b: Any, opts: BoxIouOptions) -> Any:
    """Double loop over pairs with per-box areas hoisted (paired: one loop over the rows);
    float64 arithmetic throughout."""
    check(boxes_a, boxes_b, opts)
    a, b = _rows(boxes_a), _rows(boxes_b)
    one = 1.0 if opts.pixel_inclusive else 0.0
    eps = float(opts.iou_eps)
    zero_value = math.nan if opts.zero_union == "nan" else 0.0
    if opts.form == "paired":
        return [_pair(p, q, one, eps, zero_value) for p, q in zip(a, b, strict=True)]
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
