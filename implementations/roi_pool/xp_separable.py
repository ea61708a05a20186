"""roi_pool through the array API: integer bin geometry on the host, separable masked gathers.

The quantised bins of all RoIs are computed at once (NumPy; bin sizes in the input's dtype)
and sent to the device as index arrays. The features become a channels-last table
(N*H*W, C); for a chunk of RoIs one ``take`` gathers each bin row's cells across the RoI's
columns, a masked reduction pools the rows, and a second ``take`` + masked reduction pools
the columns of every bin (max or sum; bins may overlap, padding cells are masked).
Serves NumPy, torch and CuPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import array_namespace, device

from harness import implementation
from suites.roi_pool import FLT_MAX, RoiPoolOptions, check_rois

_CHUNK_ELEMENTS = 1 << 21  # gathered values per chunk


def _edges(start: Any, cells: Any, pooled: int, size: int, quant: str, dt: Any) -> Any:
    """(K, P) clipped [lo, hi) of every bin along one axis: the bin size in dtype ``dt``
    (floor_ceil_float, torchvision's rule) or exact integer arithmetic."""
    p = np.arange(pooled)
    if quant == "floor_bins":
        step = (cells // pooled)[:, None]
        lo, hi = p * step, (p + 1) * step
    elif quant == "floor_ceil_exact":
        lo = (p * cells[:, None]) // pooled
        hi = -((-(p + 1) * cells[:, None]) // pooled)
    else:  # arrays of one float dtype stay in it through / and *
        b = (cells.astype(dt) / dt.type(pooled))[:, None]
        lo = np.floor(p.astype(dt) * b).astype(np.int64)
        hi = np.ceil((p + 1).astype(dt) * b).astype(np.int64)
    return np.clip(lo + start[:, None], 0, size), np.clip(hi + start[:, None], 0, size)


def _geometry(rois: Any, scale: float, shape: tuple[int, int, int, int], opts: Any, dt: Any) -> Any:
    r = np.asarray(rois.tolist(), dtype=np.float64).reshape(-1, 5)
    v = r[:, 1:] * scale
    corner = (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype(np.int64)  # C's round
    cells = np.maximum(corner[:, 2:] - corner[:, :2] + 1, 1)
    q = opts.quantisation
    h_lo, h_hi = _edges(corner[:, 1], cells[:, 1], shape[0], shape[2], q, dt)
    w_lo, w_hi = _edges(corner[:, 0], cells[:, 0], shape[1], shape[3], q, dt)
    return r[:, 0].astype(np.int64), h_lo, h_hi, w_lo, w_hi


@implementation("roi_pool", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "separable")
def roi_pool(features: Any, rois: Any, pooled_height: int, pooled_width: int,
             spatial_scale: float, opts: RoiPoolOptions) -> Any:  # fmt: skip
    """Rows then columns: two chunked gathers and masked max/sum reductions per bin."""
    dtype = check_rois(features, rois, pooled_height, pooled_width, spatial_scale)
    xp, dev = array_namespace(features, rois), device(features)
    (_, c, h, w), k, ph, pw = features.shape, rois.shape[0], pooled_height, pooled_width
    out = xp.zeros((k, ph, pw, c), dtype=dtype, device=dev)
    if k == 0 or c == 0:
        return xp.permute_dims(out, (0, 3, 1, 2))
    maxmode = opts.pool_mode == "max"
    f = xp.astype(features, dtype)
    if maxmode and opts.nan_policy == "torchvision":  # NaN never wins: treat it as -inf
        f = xp.where(xp.isnan(f), xp.asarray(-xp.inf, dtype=dtype, device=dev), f)
    table = xp.reshape(xp.permute_dims(f, (0, 2, 3, 1)), (-1, c))
    fill = xp.asarray(-xp.inf if maxmode else 0.0, dtype=dtype, device=dev)
    reduce = xp.max if maxmode else xp.sum
    dt = np.dtype(str(dtype).removeprefix("torch."))
    batch, h_lo, h_hi, w_lo, w_hi = _geometry(rois, spatial_scale, (ph, pw, h, w), opts, dt)
    col0, span = w_lo.min(axis=1), (w_hi.max(axis=1) - w_lo.min(axis=1))
    per_roi = ph * max(int((h_hi - h_lo).max()), 1) * max(int(span.max()), 1) * c
    step = max(1, _CHUNK_ELEMENTS // per_roi)
    for a in range(0, k, step):
        s = slice(a, min(a + step, k))
        m, bh, rw = s.stop - a, int((h_hi[s] - h_lo[s]).max()), int(span[s].max())
        bw = int((w_hi[s] - w_lo[s]).max())
        if bh <= 0 or rw <= 0 or bw <= 0:
            continue  # every bin of the chunk is empty: 0
        rows = h_lo[s][:, :, None] + np.arange(bh)  # (m, ph, bh)
        row_ok = rows < h_hi[s][:, :, None]
        cols = np.minimum(col0[s][:, None] + np.arange(rw), w - 1)  # (m, rw)
        flat = ((batch[s][:, None, None] * h + np.minimum(rows, h - 1)) * w)[..., None]
        flat = flat + cols[:, None, None, :]  # (m, ph, bh, rw)
        g = xp.reshape(xp.take(table, xp.asarray(flat.reshape(-1), device=dev), axis=0),
                       (m, ph, bh, rw, c))  # fmt: skip
        g = xp.where(xp.asarray(row_ok[:, :, :, None, None], device=dev), g, fill)
        rowpool = xp.reshape(reduce(g, axis=2), (m * ph * rw, c))
        rel = (w_lo[s] - col0[s][:, None])[:, :, None] + np.arange(bw)  # (m, pw, bw)
        col_ok = rel + col0[s][:, None, None] < w_hi[s][:, :, None]
        base = (np.arange(m)[:, None] * ph + np.arange(ph)) * rw  # (m, ph)
        idx = base[:, :, None, None] + np.minimum(rel, rw - 1)[:, None, :, :]  # (m, ph, pw, bw)
        g2 = xp.reshape(xp.take(rowpool, xp.asarray(idx.reshape(-1), device=dev), axis=0),
                        (m, ph, pw, bw, c))  # fmt: skip
        g2 = xp.where(xp.asarray(col_ok[:, None, :, :, None], device=dev), g2, fill)
        pooled = reduce(g2, axis=3)  # (m, ph, pw, c)
        count = (h_hi[s] - h_lo[s])[:, :, None] * (w_hi[s] - w_lo[s])[:, None, :]
        filled = xp.asarray((count > 0)[..., None], device=dev)
        if maxmode and opts.nan_policy == "torchvision":
            pooled = xp.clip(pooled, min=-FLT_MAX)
        elif not maxmode:
            pooled = pooled / xp.asarray(np.maximum(count, 1)[..., None], dtype=dtype, device=dev)
        out[s] = xp.where(filled, pooled, xp.zeros_like(pooled))
    return xp.permute_dims(out, (0, 3, 1, 2))
