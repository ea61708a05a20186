"""image_rotation through scipy.ndimage.rotate on the (H, W) axes of the whole batch.

scipy rotates about the image centre ((W − 1)/2, (H − 1)/2) with the same sense as the
suite (counter-clockwise on screen); reshape=True is the suite's expand='round' (canvas
int(extent + 0.5), centred). mode='grid-constant' gives the suite's zero taps. scipy
computes in float64 and writes the image dtype.
"""

from __future__ import annotations

from typing import Any

import scipy.ndimage

from harness import implementation
from suites.image_rotation import ARGS, RotationOptions


@implementation(
    "image_rotation",
    "library",
    "scipy_rotate",
    arrays="numpy",
    requires=("scipy",),
    supports={"centre": ("pixel_centre",), "expand": ("none", "round")},
)
def rotate(image: Any, angle: float, opts: RotationOptions) -> Any:
    """scipy.ndimage.rotate(image, angle, axes=(3, 2), reshape, order, grid-constant)."""
    dtype = ARGS.check(image, angle)
    return scipy.ndimage.rotate(
        image, angle, axes=(3, 2), reshape=opts.expand == "round",
        order=0 if opts.interpolation == "nearest" else 1, mode="grid-constant", cval=0.0,
        prefilter=False, output=dtype,
    )  # fmt: skip
