"""resize_nearest in pure Python: integer index lists, then list comprehensions per plane.

Plain lists carry no dtype: values are copied as they come (ints stay ints).
"""

from __future__ import annotations

from typing import Any

from harness import implementation
from suites.resize_bilinear import ARGS
from suites.resize_nearest import NearestOptions


def _indices(n_in: int, n_out: int, mode: str) -> list[int]:
    if mode == "legacy":
        return [min(d * n_in // n_out, n_in - 1) for d in range(n_out)]
    return [min((2 * d + 1) * n_in // (2 * n_out), n_in - 1) for d in range(n_out)]


@implementation(
    "resize_nearest",
    "python",
    "loops",
    max_flops=5e5,  # one copy per output pixel: ~0.1 s of interpreted loops
    expected_failures={
        "int16_image": "plain lists carry no dtype: int16 pixels arrive as ints",
        "empty_channels": "plain lists cannot say shape (N, 0, H, W): [[], []] reads as (2, 0)",
    },
)
def resize(image: Any, out_h: int, out_w: int, opts: NearestOptions) -> list[Any]:
    """Each output row is the picked input row, indexed by the picked columns."""
    ARGS.check(image, out_h, out_w)
    if not image or not image[0]:
        return [[] for _ in image]
    h, w = len(image[0][0]), len(image[0][0][0])
    rows = _indices(h, out_h, opts.nearest_mode)
    cols = _indices(w, out_w, opts.nearest_mode)
    return [[[[plane[r][q] for q in cols] for r in rows] for plane in batch] for batch in image]
