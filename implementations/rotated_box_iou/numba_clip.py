"""rotated_box_iou with Numba: Sutherland-Hodgman clipping per pair, rows in parallel.

Each box is reduced once to its centre and two half-side vectors; a pair whose
circumscribed circles are apart is skipped, the others clip box a's quadrilateral by the
four edge half-planes of box b (coordinates relative to a's centre) and take the shoelace
area. Scalar float64 arithmetic (as fast as float32 in this branchy code), float32 output
for float32 input.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from harness import implementation
from harness.numba_threads import threaded_njit
from suites.rotated_box_iou import ARGS, RotatedIouOptions


@numba.njit(cache=False)
def _clip_area(px: Any, py: Any, qx: Any, qy: Any, bx: Any, by: Any) -> float:
    """Area of quadrilateral (px, py)[:4] clipped by quadrilateral (bx, by) (both CCW);
    px, py, qx, qy are scratch buffers of 64 (noise can add a vertex per sign change)."""
    n = 4
    for k in range(4):
        x0, y0 = bx[k], by[k]
        dx, dy = bx[(k + 1) % 4] - x0, by[(k + 1) % 4] - y0
        out = 0
        sx, sy = px[n - 1], py[n - 1]
        ds = dx * (sy - y0) - dy * (sx - x0)
        for i in range(n):
            cx, cy = px[i], py[i]
            dc = dx * (cy - y0) - dy * (cx - x0)
            if (dc >= 0.0) != (ds >= 0.0):  # the edge s -> c crosses the line
                t = ds / (ds - dc)
                qx[out], qy[out] = sx + t * (cx - sx), sy + t * (cy - sy)
                out += 1
            if dc >= 0.0:
                qx[out], qy[out] = cx, cy
                out += 1
            sx, sy, ds = cx, cy, dc
        if out < 3:
            return 0.0
        n = out
        px, qx, py, qy = qx, px, qy, py
    area = 0.0
    for i in range(n):
        j = i + 1 if i + 1 < n else 0
        area += px[i] * py[j] - px[j] * py[i]
    return abs(area) * 0.5


@threaded_njit()
def _iou(a: Any, b: Any, nan_on_zero: bool, out: Any) -> None:
    m = b.shape[0]
    # per box of b: cos, sin, half sides, circumradius
    hb = np.empty((m, 5))
    for j in range(m):
        hb[j, 0], hb[j, 1] = math.cos(b[j, 4]), math.sin(b[j, 4])
        hb[j, 2], hb[j, 3] = 0.5 * b[j, 2], 0.5 * b[j, 3]
        hb[j, 4] = math.hypot(hb[j, 2], hb[j, 3])
    sx = np.array([-1.0, 1.0, 1.0, -1.0])
    sy = np.array([-1.0, -1.0, 1.0, 1.0])
    for i in numba.prange(a.shape[0]):
        px, py = np.empty(64), np.empty(64)
        qx, qy = np.empty(64), np.empty(64)
        ax_, ay_ = np.empty(4), np.empty(4)
        bx_, by_ = np.empty(4), np.empty(4)
        ca, sa = math.cos(a[i, 4]), math.sin(a[i, 4])
        wa, ha = 0.5 * a[i, 2], 0.5 * a[i, 3]
        ra = math.hypot(wa, ha)
        area_a = a[i, 2] * a[i, 3]
        for k in range(4):
            ax_[k] = ca * sx[k] * wa - sa * sy[k] * ha
            ay_[k] = sa * sx[k] * wa + ca * sy[k] * ha
        for j in range(m):
            dx, dy = b[j, 0] - a[i, 0], b[j, 1] - a[i, 1]
            inter = 0.0
            near = dx * dx + dy * dy <= (ra + hb[j, 4]) ** 2 * (1.0 + 1e-9)
            if near and area_a > 0.0 and b[j, 2] * b[j, 3] > 0.0:
                cb, sb, wb, hbj = hb[j, 0], hb[j, 1], hb[j, 2], hb[j, 3]
                for k in range(4):
                    bx_[k] = dx + cb * sx[k] * wb - sb * sy[k] * hbj
                    by_[k] = dy + sb * sx[k] * wb + cb * sy[k] * hbj
                    px[k], py[k] = ax_[k], ay_[k]
                inter = _clip_area(px, py, qx, qy, bx_, by_)
            union = area_a + b[j, 2] * b[j, 3] - inter
            if union == 0.0:
                out[i, j] = math.nan if nan_on_zero else 0.0
            else:
                out[i, j] = inter / union


@implementation("rotated_box_iou", "numba", "clip")
def rotated_box_iou(boxes_a: Any, boxes_b: Any, opts: RotatedIouOptions) -> Any:
    """Circumcircle reject, then Sutherland-Hodgman clipping per pair (prange over rows)."""
    dtype = ARGS.check(boxes_a, boxes_b)
    a = np.array(boxes_a, dtype=np.float64)
    b = np.array(boxes_b, dtype=np.float64)
    if opts.angle_unit == "degrees":
        a[:, 4], b[:, 4] = np.deg2rad(a[:, 4]), np.deg2rad(b[:, 4])
    if opts.rotation == "y_toward_x":
        a[:, 4], b[:, 4] = -a[:, 4], -b[:, 4]
    out = np.empty((a.shape[0], b.shape[0]))
    _iou(a, b, opts.zero_union == "nan", out)
    return out.astype(dtype, copy=False)
