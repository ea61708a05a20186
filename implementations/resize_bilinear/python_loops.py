"""resize_bilinear in pure Python: per-axis tap tables, then rows and columns on nested lists.

Plain lists carry no dtype: integer pixels are taken as uint8 and resized in exact integer
arithmetic (rounded half up once), floats in float64.
"""

from __future__ import annotations

from typing import Any

from harness import implementation
from implementations.resize_bilinear._taps import integer_taps, taps
from suites.resize_bilinear import ARGS, ResizeOptions

Plane = list[list[Any]]


def _resize_plane(plane: Plane, iy: Any, wy: Any, ix: Any, wx: Any) -> Plane:
    rows = []
    for r_idx, r_w in zip(iy, wy, strict=True):
        picked = [plane[i] for i in r_idx]
        rows.append([sum(wk * row[j] for wk, row in zip(r_w, picked, strict=True))
                     for j in range(len(plane[0]))])  # fmt: skip
    cols = list(zip(ix, wx, strict=True))
    return [[sum(wk * row[i] for i, wk in zip(c_idx, c_w, strict=True)) for c_idx, c_w in cols]
            for row in rows]  # fmt: skip


@implementation(
    "resize_bilinear",
    "python",
    "loops",
    max_flops=4e6,  # ~1 s of interpreted loops
    supports={"uint8_arithmetic": ("exact",)},
    expected_failures={
        "int16_image": "plain lists carry no dtype: int16 pixels arrive as ints",
        "empty_channels": "plain lists cannot say shape (N, 0, H, W): [[], []] reads as (2, 0)",
    },
)
def resize(image: Any, out_h: int, out_w: int, opts: ResizeOptions) -> list[Any]:
    """Separable: each output row a weighted sum of input rows, then of its columns."""
    ARGS.check(image, out_h, out_w)
    flat = [plane for batch in image for plane in batch]
    if not flat:
        return [[[] for _ in batch] for batch in image]
    h, w = len(flat[0]), len(flat[0][0])
    integer = isinstance(flat[0][0][0], int) and not opts.antialias
    if integer:
        iy, wy, dy = integer_taps(h, out_h, opts)
        ix, wx, dx = integer_taps(w, out_w, opts)
        d = dy * dx
        done = [[[(2 * v + d) // (2 * d) for v in row]
                 for row in _resize_plane(p, iy, wy, ix, wx)] for p in flat]  # fmt: skip
    else:
        (iy, fy), (ix, fx) = taps(h, out_h, opts), taps(w, out_w, opts)
        done = [_resize_plane(p, iy, fy, ix, fx) for p in flat]
        if isinstance(flat[0][0][0], int):  # antialiased uint8: one rounding half up
            done = [[[min(255, max(0, int(v + 0.5))) for v in row] for row in p] for p in done]
    c = len(image[0])
    return [done[b * c : (b + 1) * c] for b in range(len(image))]
