"""resize_bicubic_lanczos through the array API: two separable gather-and-weight passes
(NumPy, CuPy).

The pass that gathers along the last axis runs first when the rows grow (it then works on
the H input rows rather than the out_h output rows), last otherwise; each pass is K takes
and K multiply-adds in the image's float dtype. uint8 runs in float64, rounds half up
once and saturates.
"""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace, device

from harness import implementation
from implementations.resize_bicubic_lanczos._taps import taps
from suites.resize_bicubic_lanczos import ResizeCubicOptions, check_resize


def _pass(xp: Any, x: Any, idx: Any, w: Any, axis: int) -> Any:
    """Sum over k of take(x, idx[:, k], axis) · w[:, k], broadcast along ``axis``."""
    dev = device(x)
    shape = (-1, 1) if axis == 2 else (-1,)
    acc = None
    for k in range(idx.shape[1]):
        ik = xp.asarray(idx[:, k], device=dev)
        wk = xp.reshape(xp.asarray(w[:, k], dtype=x.dtype, device=dev), shape)
        term = xp.take(x, ik, axis=axis) * wk
        acc = term if acc is None else acc + term
    return acc


@implementation(
    "resize_bicubic_lanczos",
    ("numpy", "cupy"),
    "gather",
    supports={"uint8_arithmetic": ("exact",)},
)
def resize(image: Any, out_h: int, out_w: int, opts: ResizeCubicOptions) -> Any:
    """K takes per axis, the column pass first when upscaling rows; uint8 via float64."""
    out_dtype, xp = check_resize(image, out_h, out_w), array_namespace(image)
    n, c, h, w = image.shape
    if n * c == 0:
        return xp.empty((n, c, out_h, out_w), dtype=out_dtype, device=device(image))
    is_u8 = out_dtype == xp.uint8
    x = xp.astype(image, xp.float64 if is_u8 else out_dtype, copy=False)
    ty = taps(h, out_h, opts.mode, opts.align_corners)
    tx = taps(w, out_w, opts.mode, opts.align_corners)
    if out_h > h:
        out = _pass(xp, _pass(xp, x, *tx, axis=3), *ty, axis=2)
    else:
        out = _pass(xp, _pass(xp, x, *ty, axis=2), *tx, axis=3)
    if is_u8:
        return xp.astype(xp.clip(xp.floor(out + 0.5), 0, 255), xp.uint8)
    return out
