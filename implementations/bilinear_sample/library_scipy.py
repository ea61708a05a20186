"""bilinear_sample through scipy.ndimage.map_coordinates(order=1), one plane at a time.

Padding modes map to scipy's: zeros -> 'grid-constant' (cval 0; 'constant' would give 0
for any sample beyond the edge pixels instead of interpolating towards 0), border ->
'nearest', reflection -> 'reflect' (about the pixel edges) or 'mirror' (about the centres,
align_corners=True). scipy interpolates in float64 whatever comes in.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.ndimage

from harness import implementation
from suites.bilinear_sample import ARGS, SampleOptions


def _mode(opts: SampleOptions) -> str:
    if opts.padding_mode == "zeros":
        return "grid-constant"
    if opts.padding_mode == "border":
        return "nearest"
    return "mirror" if opts.align_corners else "reflect"


@implementation(
    "bilinear_sample",
    "library",
    "scipy_map_coordinates",
    arrays="numpy",
    requires=("scipy",),
)
def sample(image: Any, coords: Any, opts: SampleOptions) -> Any:
    """map_coordinates(plane, [rows, cols], order=1, mode=..., prefilter=False) per plane."""
    dtype = ARGS.check(image, coords)
    n, c, _, _ = image.shape
    ho, wo = coords.shape[1:3]
    out = np.empty((n, c, ho, wo), dtype=np.float64)
    mode = _mode(opts)
    for b in range(n):
        where = np.moveaxis(np.asarray(coords[b], dtype=np.float64), -1, 0)  # (2, Ho, Wo)
        for ch in range(c):
            scipy.ndimage.map_coordinates(
                image[b, ch], where, output=out[b, ch], order=1, mode=mode, cval=0.0,
                prefilter=False,
            )  # fmt: skip
    return out.astype(dtype, copy=False)
