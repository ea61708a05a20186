"""resize_nearest through the array API: two takes (rows, then columns), NumPy and CuPy.

The source indices are integer floors computed in the array library (int64 arange,
multiply, floor-divide): exact, with no float rounding at pixel boundaries.
"""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace, device

from harness import implementation
from suites.resize_bilinear import check_resize
from suites.resize_nearest import NearestOptions


def _indices(xp: Any, n_in: int, n_out: int, mode: str, dev: Any) -> Any:
    d = xp.arange(n_out, dtype=xp.int64, device=dev)
    src = d * n_in // n_out if mode == "legacy" else (2 * d + 1) * n_in // (2 * n_out)
    return xp.clip(src, max=n_in - 1)


@implementation("resize_nearest", ("numpy", "cupy"), "take")
def resize(image: Any, out_h: int, out_w: int, opts: NearestOptions) -> Any:
    """take(rows, axis=2) then take(cols, axis=3), smaller intermediate first."""
    check_resize(image, out_h, out_w)
    xp, dev = array_namespace(image), device(image)
    h, w = image.shape[2:]
    rows = _indices(xp, h, out_h, opts.nearest_mode, dev)
    cols = _indices(xp, w, out_w, opts.nearest_mode, dev)
    if out_h * w <= h * out_w:  # gather the axis that shrinks the intermediate most first
        return xp.take(xp.take(image, rows, axis=2), cols, axis=3)
    return xp.take(xp.take(image, cols, axis=3), rows, axis=2)
