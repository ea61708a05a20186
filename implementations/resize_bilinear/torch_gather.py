"""resize_bilinear in torch: index_select for the rows, gather for the columns, any device.

Rows are gathered whole (index_select along H); the column pass uses torch.gather with the
column indices broadcast over (N, C, out_h), several times faster on CPU than index_select
along the last axis. Weighted sums accumulate in place (addcmul_) in the image's float
dtype; uint8 runs on the exact integer weight numerators in float64 (integers below 2**53,
so exact) and rounds half up once.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from implementations.resize_bilinear._taps import integer_taps, taps
from suites.resize_bilinear import ResizeOptions, check_resize


def _tables(idx: Any, w: Any, dtype: Any, dev: Any) -> tuple[Any, Any]:
    return (
        torch.tensor(idx, dtype=torch.int64, device=dev),
        torch.tensor(w, dtype=torch.float64, device=dev).to(dtype),
    )


@implementation(
    "resize_bilinear",
    ("torch_cpu", "torch_cuda"),
    "gather",
    supports={"uint8_arithmetic": ("exact",)},
)
def resize(image: Any, out_h: int, out_w: int, opts: ResizeOptions) -> Any:
    """Rows: index_select + addcmul_; columns: gather + addcmul_; K taps per axis."""
    out_dtype = check_resize(image, out_h, out_w)
    n, c, h, w = image.shape
    dev = image.device
    if n * c == 0:
        return torch.empty((n, c, out_h, out_w), dtype=out_dtype, device=dev)
    exact_u8 = out_dtype == torch.uint8 and not opts.antialias
    work = torch.float64 if out_dtype == torch.uint8 else out_dtype
    if exact_u8:
        iy, ny, dy = integer_taps(h, out_h, opts)
        ix, nx, dx = integer_taps(w, out_w, opts)
        (ty, wy), (tx, wx) = _tables(iy, ny, work, dev), _tables(ix, nx, work, dev)
    else:
        (ty, wy), (tx, wx) = (_tables(*taps(h, out_h, opts), work, dev),
                              _tables(*taps(w, out_w, opts), work, dev))  # fmt: skip
    x = image.to(work)  # no copy for a float image (never written)
    rows = x.index_select(2, ty[:, 0]).mul_(wy[:, 0, None])
    for k in range(1, ty.shape[1]):
        rows.addcmul_(x.index_select(2, ty[:, k]), wy[:, k, None])
    shape = (n, c, out_h, out_w)
    out = torch.gather(rows, 3, tx[:, 0].expand(shape)).mul_(wx[:, 0])
    for k in range(1, tx.shape[1]):
        out.addcmul_(torch.gather(rows, 3, tx[:, k].expand(shape)), wx[:, k])
    if exact_u8:
        v = out.to(torch.int64)
        return torch.div(2 * v + dy * dx, 2 * dy * dx, rounding_mode="floor").to(torch.uint8)
    if out_dtype == torch.uint8:
        return out.add_(0.5).floor_().clamp_(0, 255).to(torch.uint8)
    return out
