"""resize_bicubic_lanczos through Pillow: Image.resize(BICUBIC) on each (H, W) plane.

Pillow's BICUBIC is Keys a = -0.5 stretched by the scale when downscaling, over the taps
inside the image, normalised: the suite's 'cubic_antialias' (upscale and downscale), half-
pixel mapping only. Its LANCZOS is a 3-lobe filter (not 'lanczos4') and it has no
replicate-border cubic, so those modes are refused.

Pillow works on one 2-D plane at a time: float images go through mode 'F' (float32
planes; Pillow accumulates in double but stores the intermediate pass and the result in
float32), so float64 images come back with float32 precision, ~1e-7 off: the float64 cases
are its documented divergences. uint8 'exact' goes through the same 'F' path and rounds
half up once, saturating; uint8 'fixed_point' is Pillow's own mode 'L' path (22-bit
fixed-point coefficients), which rounds and saturates the first pass to uint8 before the
second, so overshooting neighbourhoods end up several grey levels off: not within 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.resize_bicubic_lanczos import ResizeCubicOptions, check_resize
from suites.resize_bilinear import pillow_planes

_FLOAT32 = "Pillow resizes float images in mode 'F': float32 planes, ~1e-7 off in float64"
_SATURATED_PASSES = (
    "Pillow's mode 'L' path rounds and saturates the first pass to uint8 before the second: "
    "up to ~15 grey levels off where the cubic overshoots"
)


@implementation(
    "resize_bicubic_lanczos",
    "library",
    "pillow",
    arrays="numpy",
    requires=("PIL",),
    supports={
        "mode": ("cubic_antialias",),
        "align_corners": (False,),
        "uint8_arithmetic": ("exact", "fixed_point"),
    },
    expected_failures={
        "antialias_down_f64": _FLOAT32,
        "antialias_up_f64": _FLOAT32,
        "smaller_than_support_antialias": _FLOAT32,
        "uint8_fixed_point_antialias_up": _SATURATED_PASSES,
    },
)
def resize(image: Any, out_h: int, out_w: int, opts: ResizeCubicOptions) -> Any:
    """Image.fromarray(plane).resize((out_w, out_h), BICUBIC) for each of the N·C planes."""
    out_dtype = check_resize(image, out_h, out_w)
    native_u8 = out_dtype == np.uint8 and opts.uint8_arithmetic == "fixed_point"
    return pillow_planes(image, out_h, out_w, out_dtype, native_u8, "BICUBIC")
