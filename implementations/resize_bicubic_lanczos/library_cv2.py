"""resize_bicubic_lanczos through OpenCV: cv2.resize INTER_CUBIC (Keys a = -0.75) or
INTER_LANCZOS4, half-pixel mapping only.

The planes go in as one (H, W, N·C) image (OpenCV resizes up to 512 channels at once).
uint8: 'fixed_point' is OpenCV's own 8-bit path (11-bit coefficients), within a grey
level; 'exact' resizes a float64 copy and rounds half up once, saturating.
OpenCV forms the source coordinate and its coefficients in float32 whatever the image
dtype, so on float64 images at non-dyadic positions it is ~1e-6 off the exact result:
those float64 cases are its documented divergences.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from harness import implementation
from suites.resize_bicubic_lanczos import ResizeCubicOptions, check_resize
from suites.resize_bilinear import round_half_up

_FLOAT32_COEFFS = (
    "OpenCV forms the source coordinate and the kernel coefficients in float32 even for "
    "float64 images: ~1e-6 off at non-dyadic positions"
)


@implementation(
    "resize_bicubic_lanczos",
    "library",
    "cv2",
    arrays="numpy",
    requires=("cv2",),
    supports={"mode": ("cubic", "lanczos4"), "align_corners": (False,)},
    expected_failures={
        "mixed_f64": _FLOAT32_COEFFS,
        "lanczos4_mixed_f64": _FLOAT32_COEFFS,
        "float_overshoot_f64": _FLOAT32_COEFFS,
        "smaller_than_support_lanczos4": _FLOAT32_COEFFS,
        "extreme_down": _FLOAT32_COEFFS,
        "uint8_down": "'exact' uint8 goes through the float64 path, whose float32 "
        "coefficients move values lying within ~1e-4 of a .5 boundary to the other side",
    },
)
def resize(image: Any, out_h: int, out_w: int, opts: ResizeCubicOptions) -> Any:
    """cv2.resize(dsize=(out_w, out_h), INTER_CUBIC or INTER_LANCZOS4) on (H, W, planes)."""
    out_dtype = check_resize(image, out_h, out_w)
    n, c, h, w = image.shape
    if n * c == 0:
        return np.empty((n, c, out_h, out_w), dtype=out_dtype)
    flag = cv2.INTER_CUBIC if opts.mode == "cubic" else cv2.INTER_LANCZOS4
    planes = image.reshape(n * c, h, w).transpose(1, 2, 0)
    exact_u8 = out_dtype == np.uint8 and opts.uint8_arithmetic == "exact"
    if exact_u8:
        planes = planes.astype(np.float64)
    out = np.empty((n * c, out_h, out_w), dtype=planes.dtype)
    for lo in range(0, n * c, 512):
        chunk = np.ascontiguousarray(planes[:, :, lo : lo + 512])
        res = cv2.resize(chunk, (out_w, out_h), interpolation=flag)
        out[lo : lo + 512] = res.reshape(out_h, out_w, -1).transpose(2, 0, 1)
    out = out.reshape(n, c, out_h, out_w)
    return round_half_up(out) if exact_u8 else out
