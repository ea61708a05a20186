"""resize_bilinear through OpenCV: cv2.resize(INTER_LINEAR) on the batch as one many-channel image.

The N·C planes go to OpenCV as (H, W, k) images of k = 4, 3 or 1 channels: with 2 or more
than 4 channels OpenCV 5 switches to a path with float32 coefficients (about 1e-6 off in
float64), with 1, 3 and 4 it stays within a few ulps. Half-pixel mapping only. uint8:
'fixed_point' is OpenCV's own 8-bit path (11-bit weights); 'exact' resizes a float64 copy
and rounds half up once.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from harness import implementation
from suites.resize_bilinear import ResizeOptions, check_resize, round_half_up


def _chunks(total: int) -> list[tuple[int, int]]:
    """[lo, hi) plane ranges of 4, then 3 or 1 planes (never 2)."""
    out, lo = [], 0
    while lo < total:
        left = total - lo
        k = 4 if left >= 4 else 3 if left == 3 else 1
        out.append((lo, lo + k))
        lo += k
    return out


@implementation(
    "resize_bilinear",
    "library",
    "cv2",
    arrays="numpy",
    requires=("cv2",),
    supports={"align_corners": (False,), "asymmetric": (False,), "antialias": (False,)},
    expected_failures={
        "uint8_down": "'exact' uint8 goes through the float64 path: an exact .5 tie comes "
        "out an ulp low and rounds down",
        "uint8_extremes": "'exact' uint8 goes through the float64 path: an exact .5 tie "
        "comes out an ulp low and rounds down",
        "one_pixel_in": "a 1x1 source: OpenCV forms the weights 1 - fx and fx in float32, "
        "so they do not sum to exactly 1 (about 1e-8 off in float64)",
    },
)
def resize(image: Any, out_h: int, out_w: int, opts: ResizeOptions) -> Any:
    """cv2.resize(dsize=(out_w, out_h), INTER_LINEAR) on (H, W, k) chunks of the planes."""
    out_dtype = check_resize(image, out_h, out_w)
    n, c, h, w = image.shape
    native = out_dtype != np.uint8 or opts.uint8_arithmetic == "fixed_point"
    planes = image.reshape(n * c, h, w).transpose(1, 2, 0)
    if not native:
        planes = planes.astype(np.float64)
    out = np.empty((n * c, out_h, out_w), dtype=planes.dtype)
    for lo, hi in _chunks(n * c):
        chunk = np.ascontiguousarray(planes[:, :, lo:hi])
        res = cv2.resize(chunk, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
        out[lo:hi] = res.reshape(out_h, out_w, hi - lo).transpose(2, 0, 1)
    out = out.reshape(n, c, out_h, out_w)
    return out if native else round_half_up(out)
