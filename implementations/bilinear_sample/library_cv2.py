"""bilinear_sample through OpenCV: cv2.remap(INTER_LINEAR) with the column coordinates as
map1 and the row coordinates as map2 (float32 maps), one (H, W, k) image at a time, k = 4,
3 or 1 channels (never 2: see below).

Padding modes map to OpenCV borders: zeros -> BORDER_CONSTANT 0 (each tap outside gives
0), border -> BORDER_REPLICATE, reflection -> BORDER_REFLECT (about the pixel edges) or
BORDER_REFLECT_101 (about the centres, align_corners=True): reflecting the taps' indices
gives the same values as grid_sample's reflecting the coordinate and clamping. A uint8
image is widened to the output dtype first (exact). OpenCV gives garbage for a NaN position: the
adapter writes NaN there.

The spec's caveat holds, and depends on the channel count too (OpenCV 5.1): on float32
images with 1, 3 or 4 channels remap interpolates at the float coordinates (within 1e-7 of
the exact value); on 2-channel float32 images and on float64 images it quantises positions
to 1/32 pixel (about 2e-2 off). The adapter never sends 2 channels; the float64 cases are
its documented failures.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from harness import implementation
from suites.bilinear_sample import ARGS, SampleOptions

_F64 = "float64 images: remap quantises sub-pixel positions to 1/32 pixel (about 2e-2 off)"


def _chunks(c: int) -> list[tuple[int, int]]:
    """Channel ranges of 4, then 3 or 1 (a remainder of 2 as 1 + 1): remap takes at most 4
    channels, and quantises 2-channel float32 images."""
    out: list[tuple[int, int]] = []
    lo = 0
    while lo < c:
        k = min(4, c - lo)
        k = 1 if k == 2 else k
        out.append((lo, lo + k))
        lo += k
    return out


def _border(opts: SampleOptions) -> int:
    if opts.padding_mode == "zeros":
        return cv2.BORDER_CONSTANT
    if opts.padding_mode == "border":
        return cv2.BORDER_REPLICATE
    return cv2.BORDER_REFLECT_101 if opts.align_corners else cv2.BORDER_REFLECT


@implementation(
    "bilinear_sample",
    "library",
    "cv2_remap",
    arrays="numpy",
    requires=("cv2",),
    expected_failures={
        "zeros_f64": _F64,
        "border_f64": _F64,
        "reflection_f64": _F64,
        "reflection_align_f64": _F64,
        "one_pixel_zeros": _F64,
        "nonfinite_coords": _F64,
    },
)
def sample(image: Any, coords: Any, opts: SampleOptions) -> Any:
    """remap(image[b] as HWC, cols, rows, INTER_LINEAR, border) per image and 4 channels."""
    dtype = ARGS.check(image, coords)
    n, c, _, _ = image.shape
    ho, wo = coords.shape[1:3]
    out = np.empty((n, c, ho, wo), dtype=dtype)
    if out.size == 0:
        return out
    work = dtype if image.dtype.kind in "iu" else image.dtype  # integers widen exactly
    border = _border(opts)
    for b in range(n):
        rows = np.ascontiguousarray(coords[b, :, :, 0], dtype=np.float32)
        cols = np.ascontiguousarray(coords[b, :, :, 1], dtype=np.float32)
        bad = ~(np.isfinite(rows) & np.isfinite(cols))
        if bad.any():
            rows, cols = np.where(bad, 0.0, rows), np.where(bad, 0.0, cols)
        for lo, hi in _chunks(c):
            planes = np.ascontiguousarray(image[b, lo:hi].transpose(1, 2, 0), dtype=work)
            res = cv2.remap(planes, cols, rows, cv2.INTER_LINEAR, borderMode=border, borderValue=0)
            out[b, lo:hi] = res.reshape(ho, wo, hi - lo).transpose(2, 0, 1)
        if bad.any():
            out[b, :, bad] = np.nan
    return out
