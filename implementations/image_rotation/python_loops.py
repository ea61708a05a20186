"""image_rotation in pure Python: the inverse map per output pixel on nested lists, float64."""

from __future__ import annotations

import math
from typing import Any

from harness import implementation
from suites.image_rotation import ARGS, RotationOptions, geometry

_NO_SHAPE = "plain lists cannot say an empty channel axis: [[], []] reads as (2, 0)"


def _sample(plane: list[list[float]], y: float, x: float, nearest: bool) -> float:
    h, w = len(plane), len(plane[0])
    if nearest:
        i, j = round(y), round(x)  # Python's round: half to even
        return plane[i][j] if 0 <= i < h and 0 <= j < w else 0.0
    i0, j0 = math.floor(y), math.floor(x)
    v, u = y - i0, x - j0
    acc = 0.0
    for i, wy in ((i0, 1.0 - v), (i0 + 1, v)):
        for j, wx in ((j0, 1.0 - u), (j0 + 1, u)):
            if 0 <= i < h and 0 <= j < w:
                acc += wy * wx * plane[i][j]
    return acc


@implementation(
    "image_rotation",
    "python",
    "loops",
    max_flops=2e6,  # ~1 s of interpreted loops
    expected_failures={"empty_channels": _NO_SHAPE},
)
def rotate(image: Any, angle: float, opts: RotationOptions) -> list[Any]:
    """For every output pixel of every plane: the source point, then its taps."""
    ARGS.check(image, angle)
    planes = [plane for batch in image for plane in batch]
    h, w = (len(planes[0]), len(planes[0][0])) if planes else (1, 1)
    out_h, out_w, (ax, bx, cx, ay, by, cy) = geometry(h, w, angle, opts)
    nearest = opts.interpolation == "nearest"
    done = [
        [[_sample(p, ay * q + by * r + cy, ax * q + bx * r + cx, nearest) for q in range(out_w)]
         for r in range(out_h)]
        for p in planes
    ]  # fmt: skip
    c = len(image[0]) if image else 0
    return [done[b * c : (b + 1) * c] for b in range(len(image))]
