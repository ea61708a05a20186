"""box_iou_3d_axis_aligned in pure Python: a double loop over box pairs on plain floats.

Volumes are computed once per box; a pair disjoint along x costs one comparison.
"""

from __future__ import annotations

import math
from typing import Any

from harness import implementation
from suites.box_iou_3d_axis_aligned import ARGS, IouOptions


def _overlap(lo_a: float, hi_a: float, lo_b: float, hi_b: float, one: float) -> float:
    side = (hi_a if hi_a < hi_b else hi_b) - (lo_a if lo_a > lo_b else lo_b) + one
    return side if side > 0.0 else 0.0


@implementation("box_iou_3d_axis_aligned", "python", "loops", max_flops=18.0 * 300 * 300)
def box_iou_3d(boxes_a: Any, boxes_b: Any, opts: IouOptions) -> list[list[float]]:
    """Double loop over pairs, per-axis clamp, volumes hoisted; float64 throughout."""
    ARGS.check(boxes_a, boxes_b)
    one = 1.0 if opts.pixel_inclusive else 0.0
    zero_value = math.nan if opts.zero_union == "nan" else 0.0
    a = [[float(v) for v in box] for box in boxes_a]
    b = [[float(v) for v in box] for box in boxes_b]
    vol_b = [(q[3] - q[0] + one) * (q[4] - q[1] + one) * (q[5] - q[2] + one) for q in b]
    out: list[list[float]] = []
    for p in a:
        vol_a = (p[3] - p[0] + one) * (p[4] - p[1] + one) * (p[5] - p[2] + one)
        row: list[float] = []
        for q, vq in zip(b, vol_b, strict=True):
            inter = _overlap(p[0], p[3], q[0], q[3], one)
            if inter:
                inter *= _overlap(p[1], p[4], q[1], q[4], one) * _overlap(
                    p[2], p[5], q[2], q[5], one
                )
            union = vol_a + vq - inter + opts.iou_eps
            row.append(inter / union if union != 0.0 else zero_value)
        out.append(row)
    return out
