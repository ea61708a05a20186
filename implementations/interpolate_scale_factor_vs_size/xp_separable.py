"""interpolate_scale_factor_vs_size through the array API: per-axis tap tables, two passes.

The plan (output size, and the ratio of the coordinate map: 1/scale or in/out) comes from
the suite; each axis is then a small table of source indices and weights built in float64
on the host, and the image goes through one gather-and-weight pass per axis (rows, then
columns) in its own dtype: two taps per axis for bilinear, one for nearest.
"""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace, device

from harness import implementation
from implementations.interpolate_scale_factor_vs_size._taps import taps
from suites.interpolate_scale_factor_vs_size import ScaleOptions, plan


def _pass(xp: Any, x: Any, taps: Any, axis: int) -> Any:
    dev = device(x)
    shape = (-1, 1) if axis == 2 else (-1,)
    acc = None
    for idx, weights in taps:
        term = xp.take(x, xp.asarray(idx, dtype=xp.int64, device=dev), axis=axis)
        if weights is not None:
            term = term * xp.reshape(xp.asarray(weights, dtype=x.dtype, device=dev), shape)
        acc = term if acc is None else acc + term
    return acc


@implementation(
    "interpolate_scale_factor_vs_size",
    ("numpy", "cupy"),  # torch has its own file: index_select along W is slow there
    "separable",
)
def interpolate(
    image: Any, out_h: Any, out_w: Any, scale_h: Any, scale_w: Any, opts: ScaleOptions
) -> Any:
    """Plan, then a row pass and a column pass of gathers and weights."""
    dtype, oh, ow, used = plan(image, out_h, out_w, scale_h, scale_w, opts)
    xp = array_namespace(image)
    n, c, h, w = image.shape
    if n * c == 0:
        return xp.zeros((n, c, oh, ow), dtype=dtype, device=device(image))
    nearest = opts.mode == "nearest"
    rows = _pass(xp, image, taps(h, oh, used[0] if used else None, nearest), axis=2)
    return _pass(xp, rows, taps(w, ow, used[1] if used else None, nearest), axis=3)
