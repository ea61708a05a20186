"""Per-axis tap tables shared by the interpolate_scale_factor_vs_size implementations.

One axis is a list of taps, each (source index per output, weight per output or None): two
taps for bilinear (half-pixel, clamped below 0 and at the last pixel), one unweighted tap for
legacy nearest; the ratio is 1/scale when a scale maps the coordinates, else in/out.
"""

from __future__ import annotations

import math
from typing import Any


def taps(n_in: int, n_out: int, scale: float | None, nearest: bool) -> Any:
    """(indices, weights) per tap: lists of n_out entries each."""
    ratio = n_in / n_out if scale is None else 1.0 / scale
    if nearest:
        return [([min(math.floor(d * ratio), n_in - 1) for d in range(n_out)], None)]
    lo, hi, frac = [], [], []
    for d in range(n_out):
        src = max((d + 0.5) * ratio - 0.5, 0.0)
        i = min(math.floor(src), n_in - 1)
        lo.append(i)
        hi.append(min(i + 1, n_in - 1))
        frac.append(src - i if i < n_in - 1 else 0.0)
    return [(lo, [1.0 - f for f in frac]), (hi, frac)]
