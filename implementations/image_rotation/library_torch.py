"""image_rotation through torch: F.affine_grid + F.grid_sample, CPU tensors.

affine_grid takes theta in normalised coordinates (align_corners=False: pixel q of n at
(2q + 1)/n − 1), mapping the output's normalised grid to the input's; the adapter composes
the suite's pixel-unit inverse map with those two normalisations (in float64, then the
image dtype). grid_sample then samples with zero padding (bilinear or nearest, which
rounds half to even).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.image_rotation import ARGS, RotationOptions, geometry


@implementation(
    "image_rotation", "library", "torch_affine_grid", arrays="torch_cpu", requires=("torch",)
)
def rotate(image: Any, angle: float, opts: RotationOptions) -> Any:
    """theta from the pixel map and both canvases; affine_grid, then grid_sample (zeros)."""
    dtype = ARGS.check(image, angle)
    n, c, h, w = image.shape
    oh, ow, (ax, bx, cx, ay, by, cy) = geometry(h, w, angle, opts)
    if n * c == 0:  # grid_sample refuses an empty batch or channel axis
        return torch.zeros((n, c, oh, ow), dtype=dtype)
    # pixel q = ((xn + 1)·ow − 1)/2 on the output, xn_in = (2x + 1)/w − 1 on the input
    theta = torch.tensor(
        [
            [
                ax * ow / w,
                bx * oh / w,
                (2 * (ax * (ow - 1) / 2 + bx * (oh - 1) / 2 + cx) + 1) / w - 1,
            ],
            [
                ay * ow / h,
                by * oh / h,
                (2 * (ay * (ow - 1) / 2 + by * (oh - 1) / 2 + cy) + 1) / h - 1,
            ],
        ],
        dtype=torch.float64,
    ).to(dtype)
    grid = F.affine_grid(theta.expand(n, 2, 3), [n, c, oh, ow], align_corners=False)
    return F.grid_sample(
        image, grid, mode=opts.interpolation, padding_mode="zeros", align_corners=False
    )
