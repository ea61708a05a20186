"""polygon_iou for batched fixed-size polygons through the array API.

Convex pairs (kind='convex'): both rings made counter-clockwise, the K + L vertices inside
the other polygon and the K L edge crossings collected in fixed masked slots, sorted by a
diamond pseudo-angle (no atan2) around their mean, shoelace over the sorted ring with
unused slots repeating the first point. Simple polygons: the same kernel on every pair of
fan triangles at once, areas summed with the triangles' orientation signs. Input dtype
throughout, coordinates relative to a's vertex mean. NumPy, torch (CPU and CUDA) through
array-api-compat.
"""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace

from harness import implementation
from suites.polygon_iou import PolygonIouOptions, check, signed_area

#: Slack of the inside and on-edge tests, in ulps of the dtype.
SLACK_EPS = 8.0


def _inside(xp: Any, pts: Any, poly: Any, edges: Any, slack: Any) -> Any:
    d = pts[:, :, None, :] - poly[:, None, :, :]
    side = edges[:, None, :, 0] * d[..., 1] - edges[:, None, :, 1] * d[..., 0]
    return xp.all(side >= -slack[:, None, None], axis=2)


def _overlap(xp: Any, p: Any, q: Any, tol: float) -> Any:
    """Areas of p[t] n q[t], counter-clockwise convex rings (T, k, 2) and (T, m, 2)."""
    n, k, m = p.shape[0], p.shape[1], q.shape[1]
    both = xp.concat([xp.reshape(p, (n, 2 * k)), xp.reshape(q, (n, 2 * m))], axis=1)
    reach = xp.max(xp.abs(both), axis=1)
    slack = tol * reach * reach
    ep, eq = xp.roll(p, -1, axis=1) - p, xp.roll(q, -1, axis=1) - q
    r, e = ep[:, :, None, :], eq[:, None, :, :]
    d = q[:, None, :, :] - p[:, :, None, :]
    denom = r[..., 0] * e[..., 1] - r[..., 1] * e[..., 0]
    safe = xp.where(denom == 0, xp.ones_like(denom), denom)
    t = (d[..., 0] * e[..., 1] - d[..., 1] * e[..., 0]) / safe
    u = (d[..., 0] * r[..., 1] - d[..., 1] * r[..., 0]) / safe
    hit = (denom != 0) & (t >= -tol) & (t <= 1 + tol) & (u >= -tol) & (u <= 1 + tol)
    crossing = p[:, :, None, :] + t[..., None] * r
    pts = xp.concat([p, q, xp.reshape(crossing, (n, k * m, 2))], axis=1)
    inside_q, inside_p = _inside(xp, p, q, eq, slack), _inside(xp, q, p, ep, slack)
    ok = xp.concat([inside_q, inside_p, xp.reshape(hit, (n, k * m))], axis=1)
    okf = xp.astype(ok, p.dtype)
    count = xp.sum(okf, axis=1, keepdims=True)
    centre = xp.sum(pts * okf[..., None], axis=1) / xp.where(count > 0, count, xp.ones_like(count))
    px, py = pts[..., 0] - centre[:, 0:1], pts[..., 1] - centre[:, 1:2]
    norm = xp.abs(px) + xp.abs(py)
    ratio = py / xp.where(norm > 0, norm, xp.ones_like(norm))
    key = xp.where(ok, xp.where(px >= 0, ratio, 2 - ratio), xp.full_like(ratio, 10.0))
    order = xp.argsort(key, axis=1)
    px, py = xp.take_along_axis(px, order, axis=1), xp.take_along_axis(py, order, axis=1)
    ok = xp.take_along_axis(ok, order, axis=1)
    px, py = xp.where(ok, px, px[:, :1]), xp.where(ok, py, py[:, :1])
    twice = xp.sum(px * xp.roll(py, -1, axis=1) - py * xp.roll(px, -1, axis=1), axis=1)
    return xp.where(count[:, 0] >= 3, xp.abs(twice) / 2, xp.zeros_like(twice))


def _fan(xp: Any, x: Any) -> tuple[Any, Any]:
    """(n, K-2, 3, 2) counter-clockwise fan triangles from vertex 0, and their signs."""
    o = xp.broadcast_to(x[:, :1, :], x[:, 1:-1, :].shape)
    tri = xp.stack([o, x[:, 1:-1, :], x[:, 2:, :]], axis=2)
    u, v = tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0]
    sign = xp.sign(u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0])
    return xp.where((sign < 0)[..., None, None], xp.flip(tri, axis=2), tri), sign


@implementation("polygon_iou", ("numpy", "torch_cpu", "torch_cuda"), "candidates")
def polygon_iou(polygons_a: Any, polygons_b: Any, opts: PolygonIouOptions) -> Any:
    """Masked candidate vertices + pseudo-angle sort + shoelace (per signed triangle pair
    for simple polygons)."""
    dtype, xp = check(polygons_a, polygons_b, opts), array_namespace(polygons_a, polygons_b)
    a, b = xp.astype(polygons_a, dtype), xp.astype(polygons_b, dtype)
    origin = xp.mean(a, axis=1, keepdims=True)
    a, b = a - origin, b - origin
    area_a, area_b = signed_area(xp, a), signed_area(xp, b)
    tol = SLACK_EPS * float(xp.finfo(dtype).eps)
    n = a.shape[0]
    if n == 0:
        return xp.zeros_like(area_a)
    if opts.kind == "convex":
        p = xp.where((area_a < 0)[:, None, None], xp.flip(a, axis=1), a)
        q = xp.where((area_b < 0)[:, None, None], xp.flip(b, axis=1), b)
        inter = _overlap(xp, p, q, tol)
    else:
        ta, sa = _fan(xp, a)
        tb, sb = _fan(xp, b)
        i, j = ta.shape[1], tb.shape[1]
        p = xp.reshape(xp.broadcast_to(ta[:, :, None], (n, i, j, 3, 2)), (n * i * j, 3, 2))
        q = xp.reshape(xp.broadcast_to(tb[:, None], (n, i, j, 3, 2)), (n * i * j, 3, 2))
        parts = xp.reshape(_overlap(xp, p, q, tol), (n, i * j))
        weights = xp.reshape(sa[:, :, None] * sb[:, None, :], (n, i * j))
        inter = xp.abs(xp.sum(parts * weights, axis=1))
    union = xp.abs(area_a) + xp.abs(area_b) - inter
    safe = xp.where(union == 0, xp.ones_like(union), union)
    return xp.where(union == 0, xp.zeros_like(union), inter / safe)
