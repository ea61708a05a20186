"""interpolate_scale_factor_vs_size in torch: index_select for rows, gather for columns.

The same per-axis tap tables as the array-API version (host float64, from the suite's
plan); rows are gathered whole with index_select along H, columns with torch.gather on
indices broadcast over (N, C, out_h) (much faster on CPU than index_select along the last
axis), each tap accumulated in place with addcmul_ in the image dtype, on any device.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from implementations.interpolate_scale_factor_vs_size._taps import taps
from suites.interpolate_scale_factor_vs_size import ScaleOptions, plan


@implementation("interpolate_scale_factor_vs_size", ("torch_cpu", "torch_cuda"), "gather")
def interpolate(
    image: Any, out_h: Any, out_w: Any, scale_h: Any, scale_w: Any, opts: ScaleOptions
) -> Any:
    """Plan; rows by index_select (+ addcmul_), then columns by gather (+ addcmul_)."""
    dtype, oh, ow, used = plan(image, out_h, out_w, scale_h, scale_w, opts)
    n, c, h, w = image.shape
    dev = image.device
    if n * c == 0:
        return torch.zeros((n, c, oh, ow), dtype=dtype, device=dev)
    nearest = opts.mode == "nearest"
    ty = taps(h, oh, used[0] if used else None, nearest)
    tx = taps(w, ow, used[1] if used else None, nearest)
    rows = None
    for idx, wts in ty:
        part = image.index_select(2, torch.tensor(idx, device=dev))
        if wts is None:
            rows = part
        elif rows is None:
            rows = part.mul_(torch.tensor(wts, dtype=dtype, device=dev)[:, None])
        else:
            rows.addcmul_(part, torch.tensor(wts, dtype=dtype, device=dev)[:, None])
    assert rows is not None
    shape = (n, c, oh, ow)
    out = None
    for idx, wts in tx:
        part = torch.gather(rows, 3, torch.tensor(idx, device=dev).expand(shape))
        if wts is None:
            out = part
        elif out is None:
            out = part.mul_(torch.tensor(wts, dtype=dtype, device=dev))
        else:
            out.addcmul_(part, torch.tensor(wts, dtype=dtype, device=dev))
    return out
