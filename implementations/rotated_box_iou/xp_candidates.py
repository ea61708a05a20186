"""rotated_box_iou through the array API: candidate vertices, pseudo-angle sort, shoelace.

Vectorised over the pairs that can meet (circumscribed circles overlap, both areas
nonzero), gathered with one nonzero() and processed in blocks of pairs. Per pair: the 8
corners inside the other box and the 16 edge crossings (24 fixed slots with a mask), sorted
by a diamond pseudo-angle (no atan2) around their mean, shoelace over the sorted ring with
unused slots repeating the first point. Everything in the input dtype, coordinates taken
relative to box a's centre so large coordinates keep their digits. NumPy, torch (CPU and
CUDA) through array-api-compat.
"""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace, is_torch_namespace

from harness import implementation
from suites.rotated_box_iou import ARGS, RotatedIouOptions

SIGNS_X = (-0.5, 0.5, 0.5, -0.5)
SIGNS_Y = (-0.5, -0.5, 0.5, 0.5)
#: Slack of the inside and on-edge tests, in ulps of the dtype: corners on an edge stay in
SLACK_EPS = 8.0


def _cross(xp: Any, ux: Any, uy: Any, vx: Any, vy: Any) -> Any:
    return ux * vy - uy * vx


def _block_area(xp: Any, a: Any, b: Any, dtype: Any, tol: float) -> Any:
    """Intersection areas of pairs a[k] x b[k], (P, 7) rows: cx, cy, w, h, theta, cos, sin."""
    dev = a.device if hasattr(a, "device") else None
    sx = xp.asarray(SIGNS_X, dtype=dtype, device=dev)
    sy = xp.asarray(SIGNS_Y, dtype=dtype, device=dev)

    def quad(box: Any, ox: Any, oy: Any) -> tuple[Any, Any]:
        c, s = box[:, 5:6], box[:, 6:7]
        hx, hy = sx * box[:, 2:3], sy * box[:, 3:4]
        return (box[:, 0:1] - ox) + c * hx - s * hy, (box[:, 1:2] - oy) + s * hx + c * hy

    ox, oy = a[:, 0:1], a[:, 1:2]
    ax, ay = quad(a, ox, oy)
    bx, by = quad(b, ox, oy)
    xs, ys, oks = [], [], []
    for px, py, box, cx, cy in ((ax, ay, b, b[:, 0:1] - ox, b[:, 1:2] - oy),
                                (bx, by, a, 0.0 * ox, 0.0 * oy)):  # fmt: skip
        dx, dy = px - cx, py - cy
        c, s = box[:, 5:6], box[:, 6:7]
        u, v = dx * c + dy * s, dy * c - dx * s
        half_w, half_h = box[:, 2:3] / 2, box[:, 3:4] / 2
        slack = tol * (half_w + half_h)
        xs.append(px)
        ys.append(py)
        oks.append((xp.abs(u) <= half_w + slack) & (xp.abs(v) <= half_h + slack))
    eax, eay = xp.roll(ax, -1, axis=1) - ax, xp.roll(ay, -1, axis=1) - ay
    ebx, eby = xp.roll(bx, -1, axis=1) - bx, xp.roll(by, -1, axis=1) - by
    rx, ry, ex, ey = eax[:, :, None], eay[:, :, None], ebx[:, None, :], eby[:, None, :]
    qx, qy = bx[:, None, :] - ax[:, :, None], by[:, None, :] - ay[:, :, None]
    denom = _cross(xp, rx, ry, ex, ey)
    safe = xp.where(denom == 0, xp.ones_like(denom), denom)
    t = _cross(xp, qx, qy, ex, ey) / safe
    w = _cross(xp, qx, qy, rx, ry) / safe
    hit = (denom != 0) & (t >= -tol) & (t <= 1 + tol) & (w >= -tol) & (w <= 1 + tol)
    n = a.shape[0]
    xs.append(xp.reshape(ax[:, :, None] + t * rx, (n, 16)))
    ys.append(xp.reshape(ay[:, :, None] + t * ry, (n, 16)))
    oks.append(xp.reshape(hit, (n, 16)))
    px, py, ok = xp.concat(xs, axis=1), xp.concat(ys, axis=1), xp.concat(oks, axis=1)
    okf = xp.astype(ok, dtype)
    count = xp.sum(okf, axis=1, keepdims=True)
    denom_c = xp.where(count > 0, count, xp.ones_like(count))
    px = px - xp.sum(px * okf, axis=1, keepdims=True) / denom_c
    py = py - xp.sum(py * okf, axis=1, keepdims=True) / denom_c
    # diamond angle: monotone in the true angle, one division instead of an atan2
    norm = xp.abs(px) + xp.abs(py)
    p = py / xp.where(norm > 0, norm, xp.ones_like(norm))
    key = xp.where(px >= 0, p, 2 - p)
    key = xp.where(ok, key, xp.full_like(key, 10.0))
    order = xp.argsort(key, axis=1)
    px, py = xp.take_along_axis(px, order, axis=1), xp.take_along_axis(py, order, axis=1)
    ok = xp.take_along_axis(ok, order, axis=1)
    px, py = xp.where(ok, px, px[:, :1]), xp.where(ok, py, py[:, :1])
    area = xp.sum(_cross(xp, px, py, xp.roll(px, -1, axis=1), xp.roll(py, -1, axis=1)), axis=1)
    return xp.where(count[:, 0] >= 3, xp.abs(area) / 2, xp.zeros_like(area))


@implementation("rotated_box_iou", ("numpy", "torch_cpu", "torch_cuda"), "candidates")
def rotated_box_iou(boxes_a: Any, boxes_b: Any, opts: RotatedIouOptions) -> Any:
    """Circumcircle filter + nonzero gather, then 24 masked candidates per pair, sorted."""
    dtype, xp = ARGS.check(boxes_a, boxes_b), array_namespace(boxes_a, boxes_b)
    a, b = xp.astype(boxes_a, dtype), xp.astype(boxes_b, dtype)
    if opts.angle_unit == "degrees":
        a = xp.concat([a[:, :4], a[:, 4:] * (3.141592653589793 / 180)], axis=1)
        b = xp.concat([b[:, :4], b[:, 4:] * (3.141592653589793 / 180)], axis=1)
    sense = -1.0 if opts.rotation == "y_toward_x" else 1.0
    a = xp.concat([a, xp.cos(a[:, 4:]), sense * xp.sin(a[:, 4:])], axis=1)
    b = xp.concat([b, xp.cos(b[:, 4:]), sense * xp.sin(b[:, 4:])], axis=1)
    area_a, area_b = a[:, 2] * a[:, 3], b[:, 2] * b[:, 3]
    ra, rb = xp.sqrt(a[:, 2] ** 2 + a[:, 3] ** 2) / 2, xp.sqrt(b[:, 2] ** 2 + b[:, 3] ** 2) / 2
    gx, gy = a[:, None, 0] - b[None, :, 0], a[:, None, 1] - b[None, :, 1]
    reach = (ra[:, None] + rb[None, :]) * (1 + 1e-6)
    near = (gx * gx + gy * gy <= reach * reach) & (area_a[:, None] > 0) & (area_b[None, :] > 0)
    inter = xp.zeros(near.shape, dtype=dtype, device=getattr(a, "device", None))
    flat = xp.reshape(inter, (-1,))
    (idx,) = xp.nonzero(xp.reshape(near, (-1,)))
    m, block = b.shape[0], (1 << 20) if is_torch_namespace(xp) and a.device.type == "cuda" else 8192
    tol = SLACK_EPS * float(xp.finfo(dtype).eps)
    for start in range(0, idx.shape[0], block):
        k = idx[start : start + block]
        pa, pb = xp.take(a, k // m, axis=0), xp.take(b, k % m, axis=0)
        flat[k] = _block_area(xp, pa, pb, dtype, tol)
    union = area_a[:, None] + area_b[None, :] - inter
    safe = xp.where(union == 0, xp.ones_like(union), union)
    zero = xp.full_like(union, float("nan") if opts.zero_union == "nan" else 0.0)
    return xp.where(union == 0, zero, inter / safe)
