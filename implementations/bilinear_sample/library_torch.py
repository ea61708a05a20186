"""bilinear_sample through torch: F.grid_sample(mode='bilinear'), CPU tensors.

The adapter turns pixel (row, col) into grid_sample's normalised (x, y) with the formula
of the align_corners value it passes: x_n = 2x/(W − 1) − 1 (True) or (2x + 1)/W − 1
(False), so both land on the same pixel positions; only the reflection axes differ.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.bilinear_sample import ARGS, SampleOptions


def _normalise(t: Any, n: int, align_corners: bool) -> Any:
    if align_corners:
        return t * (2.0 / (n - 1)) - 1.0 if n > 1 else torch.zeros_like(t)
    return (2.0 * t + 1.0) / n - 1.0


@implementation(
    "bilinear_sample", "library", "torch_grid_sample", arrays="torch_cpu", requires=("torch",)
)
def sample(image: Any, coords: Any, opts: SampleOptions) -> Any:
    """F.grid_sample(image, grid (x, y) normalised, bilinear, padding_mode, align_corners)."""
    dtype = ARGS.check(image, coords)
    n, c, h, w = image.shape
    ho, wo = coords.shape[1:3]
    if n * c * ho * wo == 0:  # grid_sample refuses empty batches and grids
        return torch.zeros((n, c, ho, wo), dtype=dtype)
    pts = coords.to(dtype)
    grid = torch.stack(
        [
            _normalise(pts[..., 1], w, opts.align_corners),
            _normalise(pts[..., 0], h, opts.align_corners),
        ],
        dim=-1,
    )
    return F.grid_sample(
        image.to(dtype), grid, mode="bilinear", padding_mode=opts.padding_mode,
        align_corners=opts.align_corners,
    )  # fmt: skip
