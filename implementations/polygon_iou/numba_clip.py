"""polygon_iou with Numba: Sutherland-Hodgman clipping per pair, pairs in parallel.

Convex polygons (kind='convex'): polygon a clipped by b's edge half-planes, O(K L).
Simple polygons: both fanned into triangles from their first vertex, each triangle pair
clipped and its area added with the product of the triangles' orientation signs (the
polygon's indicator is that signed sum). Float64 scalar arithmetic relative to a's vertex
mean; a small slack on the inside test keeps noisy on-line points from adding vertices.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from harness.numba_threads import threaded_njit
from suites.polygon_iou import PolygonIouOptions, check


@numba.njit(cache=False)
def _clip(px: Any, py: Any, n: int, cx: Any, cy: Any, m: int, qx: Any, qy: Any) -> float:
    """Area of polygon (px, py)[:n] clipped by counter-clockwise convex (cx, cy)[:m];
    px, py, qx, qy are scratch of one size, overwritten."""
    cap = px.shape[0]
    reach = 0.0
    for i in range(n):
        reach = max(reach, abs(px[i]) + abs(py[i]))
    for k in range(m):
        x0, y0 = cx[k], cy[k]
        k1 = k + 1 if k + 1 < m else 0
        dx, dy = cx[k1] - x0, cy[k1] - y0
        slack = 1e-12 * (abs(dx) + abs(dy)) * (reach + abs(x0) + abs(y0))
        out = 0
        sx, sy = px[n - 1], py[n - 1]
        ds = dx * (sy - y0) - dy * (sx - x0)
        for i in range(n):
            ex, ey = px[i], py[i]
            de = dx * (ey - y0) - dy * (ex - x0)
            if (de >= -slack) != (ds >= -slack) and out < cap:
                t = ds / (ds - de)
                qx[out], qy[out] = sx + t * (ex - sx), sy + t * (ey - sy)
                out += 1
            if de >= -slack and out < cap:
                qx[out], qy[out] = ex, ey
                out += 1
            sx, sy, ds = ex, ey, de
        if out < 3:
            return 0.0
        n = out
        for i in range(n):
            px[i], py[i] = qx[i], qy[i]
    area = 0.0
    for i in range(n):
        j = i + 1 if i + 1 < n else 0
        area += px[i] * py[j] - px[j] * py[i]
    return 0.5 * abs(area)


@numba.njit(cache=False)
def _ring_area(x: Any, y: Any) -> float:
    n, s = x.shape[0], 0.0
    for i in range(n):
        j = i + 1 if i + 1 < n else 0
        s += x[i] * y[j] - x[j] * y[i]
    return 0.5 * s


@numba.njit(cache=False)
def _pair(a: Any, b: Any, p: int, convex: bool, buf: Any) -> float:
    """IoU of pair p; buf (9, cap) holds the centred rings and the clipping scratch."""
    k, m = a.shape[1], b.shape[1]
    ax, ay, bx, by = buf[0, :k], buf[1, :k], buf[2, :m], buf[3, :m]
    px, py, qx, qy, tri = buf[4], buf[5], buf[6], buf[7], buf[8]
    ox, oy = 0.0, 0.0
    for i in range(k):
        ox += a[p, i, 0]
        oy += a[p, i, 1]
    ox, oy = ox / k, oy / k
    for i in range(k):
        ax[i], ay[i] = a[p, i, 0] - ox, a[p, i, 1] - oy
    area_a = _ring_area(ax, ay)
    for j in range(m):
        bx[j], by[j] = b[p, j, 0] - ox, b[p, j, 1] - oy
    area_b = _ring_area(bx, by)
    inter = 0.0
    if convex:
        if area_b < 0:
            bx, by = bx[::-1], by[::-1]
        for i in range(k):
            px[i], py[i] = ax[i], ay[i]
        inter = _clip(px, py, k, bx, by, m, qx, qy)
    else:
        tx, ty = tri[:3], tri[3:6]
        for j in range(1, m - 1):
            sb = (bx[j] - bx[0]) * (by[j + 1] - by[0]) - (by[j] - by[0]) * (bx[j + 1] - bx[0])
            if sb == 0.0:
                continue
            tx[0], ty[0] = bx[0], by[0]
            lo, hi = (j, j + 1) if sb > 0 else (j + 1, j)
            tx[1], ty[1], tx[2], ty[2] = bx[lo], by[lo], bx[hi], by[hi]
            for i in range(1, k - 1):
                sa = (ax[i] - ax[0]) * (ay[i + 1] - ay[0]) - (ay[i] - ay[0]) * (ax[i + 1] - ax[0])
                if sa == 0.0:
                    continue
                px[0], py[0] = ax[0], ay[0]
                px[1], py[1], px[2], py[2] = ax[i], ay[i], ax[i + 1], ay[i + 1]
                part = _clip(px, py, 3, tx, ty, 3, qx, qy)
                inter += part if (sa > 0) == (sb > 0) else -part
        inter = abs(inter)
    union = abs(area_a) + abs(area_b) - inter
    return 0.0 if union == 0.0 else inter / union


#: Pairs per parallel task: the scratch buffers are allocated once per task.
TASK = 512


@threaded_njit()
def _iou(a: Any, b: Any, convex: bool, out: Any) -> None:
    n = a.shape[0]
    cap = 2 * (a.shape[1] + b.shape[1]) + 8
    for task in numba.prange((n + TASK - 1) // TASK):
        buf = np.empty((9, cap))
        for p in range(task * TASK, min(n, (task + 1) * TASK)):
            out[p] = _pair(a, b, p, convex, buf)


@implementation("polygon_iou", "numba", "clip")
def polygon_iou(polygons_a: Any, polygons_b: Any, opts: PolygonIouOptions) -> Any:
    """Sutherland-Hodgman per pair (convex), or per fan-triangle pair, signed (simple)."""
    dtype = check(polygons_a, polygons_b, opts)
    a = np.ascontiguousarray(polygons_a, dtype=np.float64)
    b = np.ascontiguousarray(polygons_b, dtype=np.float64)
    out = np.empty(a.shape[0])
    _iou(a, b, opts.kind == "convex", out)
    return out.astype(dtype, copy=False)
