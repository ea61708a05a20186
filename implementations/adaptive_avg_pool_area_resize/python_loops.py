"""adaptive_avg_pool_area_resize in pure Python: per-axis (index, weight) bands, then
each output row is a weighted sum of rows, each output a weighted sum of that row."""

from __future__ import annotations

from typing import Any

from harness import implementation
from suites.adaptive_avg_pool_area_resize import AreaOptions, band, check


def _taps(n_in: int, n_out: int, method: str) -> list[list[tuple[int, float]]]:
    idx, wts = band(n_in, n_out, method)
    return [
        [(int(j), float(v)) for j, v in zip(r, wr, strict=True) if v]
        for r, wr in zip(idx, wts, strict=True)
    ]


@implementation(
    "adaptive_avg_pool_area_resize",
    "python",
    "loops",
    max_flops=3e6,
    expected_failures={
        "empty_channels": "plain lists cannot say shape (N, 0, H, W): [[], []] reads as (2, 0)"
    },
)
def resize(x: Any, out_h: int, out_w: int, opts: AreaOptions) -> list[Any]:
    """Rows first (weighted sums of input rows), then columns, in Python floats."""
    check(x, out_h, out_w, opts)
    if not x or not x[0]:
        return [[] for _ in x]
    h, w = len(x[0][0]), len(x[0][0][0])
    rows, cols = _taps(h, out_h, opts.method), _taps(w, out_w, opts.method)
    out = []
    for img in x:
        planes = []
        for plane in img:
            mixed = [[sum(v * plane[j][q] for j, v in taps) for q in range(w)] for taps in rows]
            planes.append([[sum(v * row[q] for q, v in taps) for taps in cols] for row in mixed])
        out.append(planes)
    return out
