"""roi_align through the array API: vectorised bilinear weights, channels-last corner gathers.

The features are copied once to a channels-last table (N*H*W, C), so each bilinear corner
of a sample is one contiguous row of C values. RoIs are grouped by their sampling grid
(fixed, or the adaptive ceil(size / bins) per RoI), and each group is done in chunks: the
per-axis weights and indices are computed for all samples of the chunk at once, the four
corners gathered with one ``take`` each, and the grid reduced to bins with one reshape.
The same code serves NumPy, torch (CPU and CUDA) and CuPy.
"""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace, device

from harness import implementation
from suites.roi_align import RoiAlignOptions, check_rois

_CHUNK_ELEMENTS = 1 << 21  # gathered values per corner and chunk (8 MiB of float32)


def _axis(xp: Any, coord: Any, size: int, itype: Any) -> tuple[Any, Any, Any, Any]:
    """Detectron's rule: (low, high, weight of low, weight of high); 0 weights outside."""
    inside = (coord >= -1.0) & (coord <= size)
    c = xp.clip(coord, min=0.0)
    low = xp.astype(xp.floor(c), itype)
    pinned = low >= size - 1
    low = xp.where(pinned, size - 1, low)
    high = xp.where(pinned, low, low + 1)
    frac = xp.where(pinned, xp.zeros_like(c), c - xp.astype(low, c.dtype))
    zero = xp.zeros_like(c)
    return low, high, xp.where(inside, 1.0 - frac, zero), xp.where(inside, frac, zero)


def _samples(xp: Any, start: Any, bin_size: Any, pooled: int, grid: int) -> Any:
    """(m, pooled * grid) sample coordinates, bin-major: start + p*bin + (i + 0.5)*bin/grid."""
    dev, dtype = device(start), start.dtype
    p = xp.reshape(xp.astype(xp.arange(pooled, device=dev), dtype), (pooled, 1))
    i = xp.reshape(xp.astype(xp.arange(grid, device=dev), dtype) + 0.5, (1, grid))
    p, i = xp.reshape(p + 0 * i, (-1,)), xp.reshape(i + 0 * p, (-1,))
    b = bin_size[:, None]
    return start[:, None] + p[None, :] * b + i[None, :] * b / grid


def _pool_group(xp: Any, table: Any, geo: tuple[Any, ...], shape: tuple[int, ...],
                grid: tuple[int, int], maxmode: bool) -> Any:  # fmt: skip
    """(m, ph, pw, C) for RoIs that share one sampling grid."""
    (batch, y1, x1, bin_h, bin_w), (h, w, ph, pw, c), (gh, gw) = geo, shape, grid
    itype = batch.dtype
    y_lo, y_hi, wy_lo, wy_hi = _axis(xp, _samples(xp, y1, bin_h, ph, gh), h, itype)
    x_lo, x_hi, wx_lo, wx_hi = _axis(xp, _samples(xp, x1, bin_w, pw, gw), w, itype)
    m, sy, sx = y1.shape[0], ph * gh, pw * gw
    rows_lo, rows_hi = (batch[:, None] * h + y_lo) * w, (batch[:, None] * h + y_hi) * w

    def corner(rows: Any, cols: Any) -> Any:
        flat = xp.reshape(rows[:, :, None] + cols[:, None, :], (-1,))
        return xp.reshape(xp.take(table, flat, axis=0), (m, sy, sx, c))

    wxl, wxh = wx_lo[:, None, :, None], wx_hi[:, None, :, None]
    value = wy_lo[:, :, None, None] * (wxl * corner(rows_lo, x_lo) + wxh * corner(rows_lo, x_hi))
    value += wy_hi[:, :, None, None] * (wxl * corner(rows_hi, x_lo) + wxh * corner(rows_hi, x_hi))
    grids = xp.reshape(value, (m, ph, gh, pw, gw, c))
    if maxmode:
        return xp.max(xp.max(grids, axis=4), axis=2)
    return xp.sum(xp.sum(grids, axis=4), axis=2) / (gh * gw)


@implementation("roi_align", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "gather")
def roi_align(features: Any, rois: Any, pooled_height: int, pooled_width: int,
              spatial_scale: float, sampling_ratio: int, opts: RoiAlignOptions) -> Any:  # fmt: skip
    """Grid-grouped, chunked 4-corner gathers from a channels-last copy of the features."""
    dtype = check_rois(features, rois, pooled_height, pooled_width, spatial_scale, sampling_ratio)
    xp, dev = array_namespace(features, rois), device(features)
    (_, c, h, w), k, ph, pw = features.shape, rois.shape[0], pooled_height, pooled_width
    out = xp.zeros((k, ph, pw, c), dtype=dtype, device=dev)
    if k == 0 or c == 0:
        return xp.permute_dims(out, (0, 3, 1, 2))
    r = xp.astype(rois, dtype)
    table = xp.reshape(xp.permute_dims(xp.astype(features, dtype), (0, 2, 3, 1)), (-1, c))
    off = 0.5 if opts.aligned else 0.0
    x1, y1 = r[:, 1] * spatial_scale - off, r[:, 2] * spatial_scale - off
    roi_w, roi_h = r[:, 3] * spatial_scale - off - x1, r[:, 4] * spatial_scale - off - y1
    if not opts.aligned:
        roi_w, roi_h = xp.clip(roi_w, min=1.0), xp.clip(roi_h, min=1.0)
    bin_h, bin_w = roi_h / ph, roi_w / pw
    if sampling_ratio > 0:
        grids = [(sampling_ratio, sampling_ratio)] * k
    else:
        gh, gw = (xp.clip(xp.ceil(b), min=0.0).tolist() for b in (bin_h, bin_w))
        grids = [(int(a), int(b)) for a, b in zip(gh, gw, strict=True)]
    groups: dict[tuple[int, int], list[int]] = {}
    for i, g in enumerate(grids):
        if g[0] > 0 and g[1] > 0:  # an empty grid leaves the RoI's bins at 0
            groups.setdefault(g, []).append(i)
    batch = xp.astype(r[:, 0], xp.int64)
    for (gh_, gw_), members in groups.items():
        step = max(1, _CHUNK_ELEMENTS // (ph * gh_ * pw * gw_ * c))
        for s in range(0, len(members), step):
            sel = xp.asarray(members[s : s + step], dtype=xp.int64, device=dev)
            geo = (batch[sel], y1[sel], x1[sel], bin_h[sel], bin_w[sel])
            shape = (h, w, ph, pw, c)
            out[sel] = _pool_group(xp, table, geo, shape, (gh_, gw_), opts.pool_mode == "max")
    return xp.permute_dims(out, (0, 3, 1, 2))
