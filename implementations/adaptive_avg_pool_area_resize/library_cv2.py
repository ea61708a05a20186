"""adaptive_avg_pool_area_resize through OpenCV: cv2.resize(INTER_AREA) for the area method,
a summed-area table (cv2.integral, float64) for the adaptive bins (four lookups per output).

The N·C planes become the channels of (H, W, k) images, up to 512 per call. OpenCV
computes the fractional area weights in single precision even for float64 images: away
from integer factors its float64 results are ~1e-8 off the exact average.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from harness import implementation
from suites.adaptive_avg_pool_area_resize import AreaOptions, bins, check

_MAX_CHANNELS = 4  # INTER_AREA at non-integer factors takes at most 4 channels


@implementation(
    "adaptive_avg_pool_area_resize",
    "library",
    "cv2",
    arrays="numpy",
    requires=("cv2",),
    expected_failures={
        "down_area_f64": "INTER_AREA's fractional weights are float32 even for float64 "
        "images: ~3e-8 off the exact average at 29 x 41 -> 9 x 13",
        "nan_input": "the adaptive route sums through a summed-area table: one NaN pixel "
        "poisons every table entry below and right of it, so every later box is NaN",
    },
)
def resize(x: Any, out_h: int, out_w: int, opts: AreaOptions) -> Any:
    """INTER_AREA on (H, W, N·C) chunks, or integral-image box sums over torch's bins."""
    check(x, out_h, out_w, opts)
    n, c, h, w = x.shape
    if opts.method == "adaptive":
        return _adaptive(x, out_h, out_w)
    planes = x.reshape(n * c, h, w).transpose(1, 2, 0)
    out = np.empty((n * c, out_h, out_w), dtype=x.dtype)
    for lo in range(0, n * c, _MAX_CHANNELS):
        chunk = np.ascontiguousarray(planes[:, :, lo : lo + _MAX_CHANNELS])
        res = cv2.resize(chunk, (out_w, out_h), interpolation=cv2.INTER_AREA)
        k = chunk.shape[2]
        out[lo : lo + k] = res.reshape(out_h, out_w, k).transpose(2, 0, 1)
    return out.reshape(n, c, out_h, out_w)


def _adaptive(x: Any, out_h: int, out_w: int) -> Any:
    n, c, h, w = x.shape
    (sh, eh), (sw, ew) = (
        (np.array(b) for b in bins(h, out_h)),
        (np.array(b) for b in bins(w, out_w)),
    )
    area = np.outer(eh - sh, ew - sw)
    out = np.empty((n * c, out_h, out_w), dtype=x.dtype)
    for p, plane in enumerate(np.asarray(x).reshape(n * c, h, w)):
        s = cv2.integral(np.ascontiguousarray(plane), sdepth=cv2.CV_64F)  # (H + 1, W + 1)
        box = s[eh][:, ew] - s[sh][:, ew] - s[eh][:, sw] + s[sh][:, sw]
        out[p] = box / area
    return out.reshape(n, c, out_h, out_w)
