"""fcos_targets_centerness through the array API (NumPy, torch CPU/CUDA, CuPy): locations
built on the device, one (B, P, G) broadcast for the inside, range and area tests, a first
argmin over GTs, and the targets gathered from the matched boxes."""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace, device

from harness import implementation
from suites.fcos_targets_centerness import FcosOptions, check


@implementation(
    "fcos_targets_centerness", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "broadcast"
)
def fcos_targets_centerness(gt_boxes: Any, strides: Any, size_ranges: Any, image_height: int,
                            image_width: int, radius: float, opts: FcosOptions) -> Any:  # fmt: skip
    """Every (image, location, GT) test in one broadcast, in float64."""
    dtype, xp = check(gt_boxes, strides, size_ranges, image_height, image_width, radius), \
        array_namespace(gt_boxes)  # fmt: skip
    dev, f64 = device(gt_boxes), xp.float64
    xs_, ys_, ss_, lv_ = [], [], [], []
    for k, s in enumerate(int(v) for v in strides.tolist()):
        gy = s // 2 + xp.arange(-(-image_height // s), dtype=f64, device=dev) * s
        gx = s // 2 + xp.arange(-(-image_width // s), dtype=f64, device=dev) * s
        yy, xx = xp.meshgrid(gy, gx, indexing="ij")
        xs_.append(xp.reshape(xx, (-1,)))
        ys_.append(xp.reshape(yy, (-1,)))
        ss_.append(xp.full(xs_[-1].shape, float(s), dtype=f64, device=dev))
        lv_.append(xp.full(xs_[-1].shape, k, dtype=xp.int64, device=dev))
    x, y = xp.concat(xs_)[None, :, None], xp.concat(ys_)[None, :, None]
    lvl = xp.concat(lv_)
    ranges = xp.astype(size_ranges, f64)
    lo, hi = ranges[lvl, 0][None, :, None], ranges[lvl, 1][None, :, None]
    g = xp.astype(gt_boxes, f64)
    x1, y1, x2, y2 = (g[:, None, :, i] for i in range(4))  # (B, 1, G)
    l, t, r, b = x - x1, y - y1, x2 - x, y2 - y  # (B, P, G)
    if opts.center_sampling:
        half = radius * xp.concat(ss_)[None, :, None]
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        left, top = x - xp.maximum(cx - half, x1), y - xp.maximum(cy - half, y1)
        right, bottom = xp.minimum(cx + half, x2) - x, xp.minimum(cy + half, y2) - y
        gap = xp.minimum(xp.minimum(left, top), xp.minimum(right, bottom))
    else:
        gap = xp.minimum(xp.minimum(l, t), xp.minimum(r, b))
    inside = gap > 0 if opts.inside == "strict" else gap >= 0
    m = xp.maximum(xp.maximum(l, t), xp.maximum(r, b))
    low_ok = m > lo if opts.range_bounds == "half_open" else m >= lo
    cand = inside & low_ok & (m <= hi)
    n_img, n_p = g.shape[0], x.shape[1]
    if g.shape[1] == 0:
        matched = xp.full((n_img, n_p), -1, dtype=xp.int64, device=dev)
        return (matched, xp.zeros((n_img, n_p, 4), dtype=dtype, device=dev),
                xp.zeros((n_img, n_p), dtype=dtype, device=dev))  # fmt: skip
    area = (x2 - x1) * (y2 - y1)
    masked = xp.where(cand, area, xp.asarray(float("inf"), dtype=f64, device=dev))
    best = xp.argmin(masked, axis=2)  # the first of equal areas
    has = xp.any(cand, axis=2)
    matched = xp.where(has, best, xp.asarray(-1, dtype=xp.int64, device=dev))
    bi = xp.arange(n_img, device=dev)[:, None]
    sel = g[bi, best]  # (B, P, 4)
    px, py = x[..., 0], y[..., 0]
    reg = xp.stack([px - sel[..., 0], py - sel[..., 1], sel[..., 2] - px, sel[..., 3] - py], axis=2)
    zero = xp.asarray(0.0, dtype=f64, device=dev)
    reg = xp.where(has[..., None], reg, zero)
    lr_min, lr_max = xp.minimum(reg[..., 0], reg[..., 2]), xp.maximum(reg[..., 0], reg[..., 2])
    tb_min, tb_max = xp.minimum(reg[..., 1], reg[..., 3]), xp.maximum(reg[..., 1], reg[..., 3])
    one = xp.asarray(1.0, dtype=f64, device=dev)
    lr = xp.where(lr_max > 0, lr_min / xp.where(lr_max > 0, lr_max, one), zero)
    tb = xp.where(tb_max > 0, tb_min / xp.where(tb_max > 0, tb_max, one), zero)
    ctr = xp.where(has, xp.sqrt(lr * tb), zero)
    return matched, xp.astype(reg, dtype), xp.astype(ctr, dtype)
