"""rotated_box_iou in pure Python: Sutherland-Hodgman clipping of each pair on plain floats.

Corners and circumradii are computed once per box; a pair whose circumscribed circles are
apart costs one comparison, the others clip box a by box b's four edges (relative to a's
centre) and take the shoelace area.
"""

from __future__ import annotations

import math
from typing import Any

from harness import implementation
from suites.rotated_box_iou import ARGS, RotatedIouOptions

Point = tuple[float, float]


def _corners(cx: float, cy: float, w: float, h: float, theta: float) -> list[Point]:
    c, s = math.cos(theta), math.sin(theta)
    half = ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2))
    return [(cx + c * x - s * y, cy + s * x + c * y) for x, y in half]


def _clip_area(poly: list[Point], clip: list[Point]) -> float:
    for k in range(4):
        (x0, y0), (x1, y1) = clip[k], clip[(k + 1) % 4]
        dx, dy = x1 - x0, y1 - y0
        out: list[Point] = []
        sx, sy = poly[-1]
        ds = dx * (sy - y0) - dy * (sx - x0)
        for cx, cy in poly:
            dc = dx * (cy - y0) - dy * (cx - x0)
            if (dc >= 0.0) != (ds >= 0.0):
                t = ds / (ds - dc)
                out.append((sx + t * (cx - sx), sy + t * (cy - sy)))
            if dc >= 0.0:
                out.append((cx, cy))
            sx, sy, ds = cx, cy, dc
        if len(out) < 3:
            return 0.0
        poly = out
    twice = sum(
        x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(poly, poly[1:] + poly[:1], strict=True)
    )
    return abs(twice) / 2


@implementation("rotated_box_iou", "python", "loops", max_flops=300.0 * 64 * 64)
def rotated_box_iou(boxes_a: Any, boxes_b: Any, opts: RotatedIouOptions) -> list[list[float]]:
    """Circumcircle reject, then Sutherland-Hodgman per pair; float64 throughout."""
    ARGS.check(boxes_a, boxes_b)
    scale = math.pi / 180 if opts.angle_unit == "degrees" else 1.0
    scale = -scale if opts.rotation == "y_toward_x" else scale
    a = [[float(v) for v in box] for box in boxes_a]
    b = [[float(v) for v in box] for box in boxes_b]
    zero_value = math.nan if opts.zero_union == "nan" else 0.0
    b_info = [(box, box[2] * box[3], math.hypot(box[2], box[3]) / 2) for box in b]
    out: list[list[float]] = []
    for cx, cy, w, h, theta in a:
        quad = _corners(0.0, 0.0, w, h, theta * scale)
        area_a, ra = w * h, math.hypot(w, h) / 2
        row: list[float] = []
        for (bx, by, bw, bh, bt), area_b, rb in b_info:
            dx, dy = bx - cx, by - cy
            inter = 0.0
            if area_a > 0 and area_b > 0 and dx * dx + dy * dy <= (ra + rb) ** 2 * (1 + 1e-9):
                inter = _clip_area(quad, _corners(dx, dy, bw, bh, bt * scale))
            union = area_a + area_b - inter
            row.append(inter / union if union != 0.0 else zero_value)
        out.append(row)
    return out
