"""polygon_iou in pure Python: Sutherland-Hodgman clipping on lists of float pairs.

Convex pairs clip polygon a by b's edges directly; simple polygons are fanned into
triangles and every triangle pair is clipped, its area added with the sign of the two
triangles' orientations. Coordinates relative to a's vertex mean, float64 throughout.
"""

from __future__ import annotations

from typing import Any

from harness import implementation
from suites.polygon_iou import PolygonIouOptions, check

Ring = list[tuple[float, float]]


def _area2(ring: Ring) -> float:
    return sum(
        x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True)
    )


def _clip(poly: Ring, clip: Ring) -> float:
    """Area of poly clipped by the counter-clockwise convex ring clip."""
    reach = max(abs(x) + abs(y) for x, y in poly + clip)
    for k in range(len(clip)):
        (x0, y0), (x1, y1) = clip[k], clip[(k + 1) % len(clip)]
        dx, dy = x1 - x0, y1 - y0
        slack = 1e-12 * (abs(dx) + abs(dy)) * reach
        out: Ring = []
        sx, sy = poly[-1]
        ds = dx * (sy - y0) - dy * (sx - x0)
        for ex, ey in poly:
            de = dx * (ey - y0) - dy * (ex - x0)
            if (de >= -slack) != (ds >= -slack):
                t = ds / (ds - de)
                out.append((sx + t * (ex - sx), sy + t * (ey - sy)))
            if de >= -slack:
                out.append((ex, ey))
            sx, sy, ds = ex, ey, de
        if len(out) < 3:
            return 0.0
        poly = out
    return abs(_area2(poly)) / 2


def _fan(ring: Ring) -> list[tuple[Ring, float]]:
    """Counter-clockwise fan triangles from the first vertex, with their signs."""
    out = []
    for i in range(1, len(ring) - 1):
        tri = [ring[0], ring[i], ring[i + 1]]
        s = _area2(tri)
        if s != 0.0:
            out.append((tri if s > 0 else tri[::-1], 1.0 if s > 0 else -1.0))
    return out


@implementation("polygon_iou", "python", "loops", max_flops=20.0 * 32 * 32 * 40)
def polygon_iou(polygons_a: Any, polygons_b: Any, opts: PolygonIouOptions) -> list[float]:
    """Per pair: clip (convex) or signed fan-triangle clips (simple); float64 lists."""
    check(polygons_a, polygons_b, opts)
    out: list[float] = []
    for pa, pb in zip(polygons_a, polygons_b, strict=True):
        ox = sum(float(v[0]) for v in pa) / len(pa)
        oy = sum(float(v[1]) for v in pa) / len(pa)
        a: Ring = [(float(x) - ox, float(y) - oy) for x, y in pa]
        b: Ring = [(float(x) - ox, float(y) - oy) for x, y in pb]
        area_a, area_b = _area2(a) / 2, _area2(b) / 2
        if opts.kind == "convex":
            inter = _clip(a, b if area_b >= 0 else b[::-1])
        else:
            fan_b = _fan(b)
            inter = abs(sum(sa * sb * _clip(ta, tb) for ta, sa in _fan(a) for tb, sb in fan_b))
        union = abs(area_a) + abs(area_b) - inter
        out.append(inter / union if union != 0.0 else 0.0)
    return out
