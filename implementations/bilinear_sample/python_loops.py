"""bilinear_sample in pure Python: a loop over samples on nested lists, float64 throughout."""

from __future__ import annotations

import math
from typing import Any

from harness import implementation
from suites.bilinear_sample import ARGS, SampleOptions


def _fold(t: float, n: int, opts: SampleOptions) -> float:
    if opts.padding_mode == "border":
        return min(max(t, 0.0), n - 1.0)
    if opts.padding_mode != "reflection" or math.isnan(t):
        return t
    lo, hi = (0.0, n - 1.0) if opts.align_corners else (-0.5, n - 0.5)
    span = hi - lo
    if span <= 0:
        return 0.0
    d = abs(t - lo)
    flips = math.floor(d / span)
    extra = d - flips * span
    return min(max(hi - extra if flips % 2 else lo + extra, 0.0), n - 1.0)


_NO_SHAPE = "plain lists cannot say an empty inner axis: the nested list reads as fewer axes"


@implementation(
    "bilinear_sample",
    "python",
    "loops",
    max_flops=1e6,
    expected_failures={
        "empty_channels": _NO_SHAPE,
        "empty_grid_rows": _NO_SHAPE,
        "empty_grid_cols": _NO_SHAPE,
    },
)
def sample(image: Any, coords: Any, opts: SampleOptions) -> list[Any]:
    """Per sample: fold the coordinates, then sum the in-range taps for every channel."""
    ARGS.check(image, coords)
    out: list[Any] = []
    for planes, grid in zip(image, coords, strict=True):
        h, w = (len(planes[0]), len(planes[0][0])) if planes else (1, 1)
        res = [[[0.0] * len(row) for row in grid] for _ in planes]
        for r, row in enumerate(grid):
            for q, (yy, xx) in enumerate(row):
                y, x = _fold(float(yy), h, opts), _fold(float(xx), w, opts)
                if math.isnan(y) or math.isnan(x):
                    for ch in range(len(planes)):
                        res[ch][r][q] = math.nan
                    continue
                i0, j0 = math.floor(y), math.floor(x)
                v, u = y - i0, x - j0
                taps = [(i0 + di, j0 + dj, (v if di else 1 - v) * (u if dj else 1 - u))
                        for di in (0, 1) for dj in (0, 1)]  # fmt: skip
                inside = [(i, j, wt) for i, j, wt in taps if 0 <= i < h and 0 <= j < w]
                for ch, plane in enumerate(planes):
                    res[ch][r][q] = sum(wt * plane[i][j] for i, j, wt in inside)
        out.append(res)
    return out
