"""resize_nearest through OpenCV: cv2.resize with INTER_NEAREST or INTER_NEAREST_EXACT.

The N·C planes become the channels of (H, W, k) images, up to 512 per call (a copy is a
copy whatever the channel count). OpenCV's own index arithmetic (a double reciprocal for
INTER_NEAREST, fixed point for INTER_NEAREST_EXACT) can pick the pixel before an exact
pixel boundary: the *_boundary cases.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from harness import implementation
from suites.resize_bilinear import check_resize
from suites.resize_nearest import NearestOptions

_MAX_CHANNELS = 512  # CV_CN_MAX
_FLAG = {"legacy": cv2.INTER_NEAREST, "exact": cv2.INTER_NEAREST_EXACT}


@implementation(
    "resize_nearest",
    "library",
    "cv2",
    arrays="numpy",
    requires=("cv2",),
    expected_failures={
        "legacy_boundary": "INTER_NEAREST computes floor(dst * (1 / (out/in))) in double: at "
        "14 -> 18 the reciprocal lands just below an exact pixel boundary (one column short)",
        "exact_boundary": "INTER_NEAREST_EXACT works in fixed point: at 4 -> 7 it picks the "
        "pixel before an exact boundary",
    },
)
def resize(image: Any, out_h: int, out_w: int, opts: NearestOptions) -> Any:
    """cv2.resize(dsize=(out_w, out_h), INTER_NEAREST[_EXACT]) on (H, W, N·C) chunks."""
    check_resize(image, out_h, out_w)
    n, c, h, w = image.shape
    planes = image.reshape(n * c, h, w).transpose(1, 2, 0)
    out = np.empty((n * c, out_h, out_w), dtype=image.dtype)
    for lo in range(0, n * c, _MAX_CHANNELS):
        chunk = np.ascontiguousarray(planes[:, :, lo : lo + _MAX_CHANNELS])
        res = cv2.resize(chunk, (out_w, out_h), interpolation=_FLAG[opts.nearest_mode])
        k = chunk.shape[2]
        out[lo : lo + k] = res.reshape(out_h, out_w, k).transpose(2, 0, 1)
    return out.reshape(n, c, out_h, out_w)
