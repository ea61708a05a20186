"""image_rotation through OpenCV: cv2.warpAffine with the inverse map, plane by plane.

The suite's inverse affine coefficients go in with WARP_INVERSE_MAP (dst -> src), the
canvas as dsize, BORDER_CONSTANT 0 (a tap outside contributes 0). Bilinear only: OpenCV's
nearest rounds fixed-point coordinates (1/1024 pixel), which moves ties further than the
suite's coordinate tolerance. On float32 images it matches exact inverse-map bilinear to
about 5e-6; on float64 it quantises sub-pixel positions to 1/32 pixel (2e-2 off): those
cases are its documented failures.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from harness import implementation
from suites.image_rotation import ARGS, RotationOptions, geometry

_F64 = "float64 images: OpenCV quantises sub-pixel positions to 1/32 pixel (about 2e-2 off)"


@implementation(
    "image_rotation",
    "library",
    "cv2_warp_affine",
    arrays="numpy",
    requires=("cv2",),
    supports={"interpolation": ("bilinear",)},
    expected_failures={
        "rotate_30_f64": _F64,
        "half_size_f64": _F64,
        "expand_floor_ceil_f64": _F64,
        "expand_round_f64": _F64,
        "expand_half_size_f64": _F64,
        "angle_45_odd": _F64,
        "angle_45_even_expand": _F64,
        "one_row": _F64,
        "one_row_expand": _F64,
        "negative_angle": _F64,
        "angle_above_360": _F64,
    },
)
def rotate(image: Any, angle: float, opts: RotationOptions) -> Any:
    """cv2.warpAffine(plane, inverse M, (out_w, out_h), INTER_LINEAR | WARP_INVERSE_MAP)."""
    dtype = ARGS.check(image, angle)
    n, c, h, w = image.shape
    out_h, out_w, (ax, bx, cx, ay, by, cy) = geometry(h, w, angle, opts)
    m = np.array([[ax, bx, cx], [ay, by, cy]], dtype=np.float64)
    out = np.empty((n * c, out_h, out_w), dtype=dtype)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    for k, plane in enumerate(image.reshape(n * c, h, w)):
        out[k] = cv2.warpAffine(
            np.ascontiguousarray(plane), m, (out_w, out_h), flags=flags,
            borderMode=cv2.BORDER_CONSTANT, borderValue=0.0,
        )  # fmt: skip
    return out.reshape(n, c, out_h, out_w)
