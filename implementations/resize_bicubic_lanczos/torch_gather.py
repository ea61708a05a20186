"""resize_bicubic_lanczos in torch: gather for the columns, index_select for the rows.

The column pass (torch.gather with the column indices broadcast over the planes' rows)
runs on the H input rows, then the row pass gathers whole output rows (index_select along
H) and accumulates in place (addcmul_), K taps each, in the image's float dtype; uint8
runs in float64, rounds half up once and saturates. Any device.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from implementations.resize_bicubic_lanczos._taps import taps
from suites.resize_bicubic_lanczos import ResizeCubicOptions, check_resize


@implementation(
    "resize_bicubic_lanczos",
    ("torch_cpu", "torch_cuda"),
    "gather",
    supports={"uint8_arithmetic": ("exact",)},
)
def resize(image: Any, out_h: int, out_w: int, opts: ResizeCubicOptions) -> Any:
    """Columns: gather + addcmul_ on the input rows; rows: index_select + addcmul_."""
    out_dtype = check_resize(image, out_h, out_w)
    n, c, h, w = image.shape
    dev = image.device
    if n * c == 0:
        return torch.empty((n, c, out_h, out_w), dtype=out_dtype, device=dev)
    work = torch.float64 if out_dtype == torch.uint8 else out_dtype
    iy, fy = (torch.from_numpy(a).to(dev) for a in taps(h, out_h, opts.mode, opts.align_corners))
    ix, fx = (torch.from_numpy(a).to(dev) for a in taps(w, out_w, opts.mode, opts.align_corners))
    fy, fx = fy.to(work), fx.to(work)
    x = image.to(work)  # no copy for a float image (never written)
    shape = (n, c, h, out_w)
    cols = torch.gather(x, 3, ix[:, 0].expand(shape)).mul_(fx[:, 0])
    for k in range(1, ix.shape[1]):
        cols.addcmul_(torch.gather(x, 3, ix[:, k].expand(shape)), fx[:, k])
    out = cols.index_select(2, iy[:, 0]).mul_(fy[:, 0, None])
    for k in range(1, iy.shape[1]):
        out.addcmul_(cols.index_select(2, iy[:, k]), fy[:, k, None])
    if out_dtype == torch.uint8:
        return out.add_(0.5).floor_().clamp_(0, 255).to(torch.uint8)
    return out
