"""resize_bilinear through Pillow: Image.resize(BILINEAR) on each (H, W) plane.

Pillow's BILINEAR is the triangle filter widened by the scale when downscaling, over the
taps inside the image, normalised: the suite's antialias=True (half-pixel mapping), which
on upscale is plain bilinear. Without antialias (a downscale that keeps 2 taps) or with
another mapping it has no equivalent, so those conventions are refused.

Pillow works on one 2-D plane at a time: float images go through mode 'F' (float32
planes; Pillow accumulates in double but stores the intermediate pass and the result in
float32), so float64 images come back with float32 precision, ~1e-8 off: the float64
cases are its documented divergences. uint8 'fixed_point' is Pillow's own mode 'L' path
(22-bit fixed-point weights, the first pass rounded to uint8 before the second: within 1
grey level, the triangle never overshoots); uint8 'exact' goes through mode 'F' and
rounds half up once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.resize_bilinear import ResizeOptions, check_resize, pillow_planes

_FLOAT32 = "Pillow resizes float images in mode 'F': float32 planes, ~1e-8 off in float64"


@implementation(
    "resize_bilinear",
    "library",
    "pillow",
    arrays="numpy",
    requires=("PIL",),
    supports={"antialias": (True,), "align_corners": (False,), "asymmetric": (False,)},
    expected_failures={
        "antialias_down_f64": _FLOAT32,
        "extreme_down_antialias": _FLOAT32,
    },
)
def resize(image: Any, out_h: int, out_w: int, opts: ResizeOptions) -> Any:
    """Image.fromarray(plane).resize((out_w, out_h), BILINEAR) for each of the N·C planes."""
    out_dtype = check_resize(image, out_h, out_w)
    native_u8 = out_dtype == np.uint8 and opts.uint8_arithmetic == "fixed_point"
    return pillow_planes(image, out_h, out_w, out_dtype, native_u8, "BILINEAR")
