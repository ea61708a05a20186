"""resize_nearest in torch: index_select for the rows, gather for the columns, any device.

Integer source indices (int64 arange, multiply, floor-divide) on the image's device: exact
at pixel boundaries, unlike torch's own float32 scale. torch.gather along W with the
column indices broadcast is several times faster on CPU than index_select on the last axis.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.resize_bilinear import check_resize
from suites.resize_nearest import NearestOptions


def _indices(n_in: int, n_out: int, mode: str, dev: Any) -> Any:
    d = torch.arange(n_out, dtype=torch.int64, device=dev)
    src = d * n_in // n_out if mode == "legacy" else (2 * d + 1) * n_in // (2 * n_out)
    return src.clamp_(max=n_in - 1)


@implementation("resize_nearest", ("torch_cpu", "torch_cuda"), "gather")
def resize(image: Any, out_h: int, out_w: int, opts: NearestOptions) -> Any:
    """rows = index_select(2, ...); out = gather(rows, 3, cols broadcast)."""
    check_resize(image, out_h, out_w)
    n, c, h, w = image.shape
    rows = image.index_select(2, _indices(h, out_h, opts.nearest_mode, image.device))
    cols = _indices(w, out_w, opts.nearest_mode, image.device)
    return torch.gather(rows, 3, cols.expand(n, c, out_h, out_w))
