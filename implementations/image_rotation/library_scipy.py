"""image_rotation through scipy.ndimage.map_coordinates on the explicit inverse affine grid.

The grid is the suite's float64 source grid; order=1 (bilinear) or order=0 (nearest) with
mode='grid-constant' (cval 0: a tap outside contributes 0; 'constant' would zero every
sample past the edge pixels instead). scipy interpolates in float64 whatever comes in; its
order=0 rounds a half-integer coordinate up rather than to even, which the suite accepts
(either pixel at a tie).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.ndimage

from harness import implementation
from suites.image_rotation import ARGS, RotationOptions, source_grid


@implementation(
    "image_rotation", "library", "scipy_map_coordinates", arrays="numpy", requires=("scipy",)
)
def rotate(image: Any, angle: float, opts: RotationOptions) -> Any:
    """map_coordinates(plane, source grid, order=1 or 0, mode='grid-constant') per plane."""
    dtype = ARGS.check(image, angle)
    n, c, h, w = image.shape
    ys, xs = source_grid(h, w, angle, opts)
    out = np.empty((n * c, *ys.shape), dtype=dtype)
    order = 0 if opts.interpolation == "nearest" else 1
    where = np.stack([ys, xs])
    for k, plane in enumerate(image.reshape(n * c, h, w)):
        scipy.ndimage.map_coordinates(
            plane, where, output=out[k], order=order, mode="grid-constant", cval=0.0,
            prefilter=False,
        )  # fmt: skip
    return out.reshape(n, c, *ys.shape)
