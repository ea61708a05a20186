"""box_iou_3d_axis_aligned through the array API: one (N, M) buffer per axis, any namespace.

The same code serves NumPy, torch (CPU and CUDA) and CuPy via array-api-compat: the
intersection is accumulated axis by axis (each overlap clamped on its own), volumes are
computed once per box, and everything stays in the result dtype.
"""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace

from harness import implementation
from suites.box_iou_3d_axis_aligned import ARGS, IouOptions


@implementation("box_iou_3d_axis_aligned", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "xp")
def box_iou_3d(boxes_a: Any, boxes_b: Any, opts: IouOptions) -> Any:
    """Per-axis broadcast min/max over an (N, M) grid, clamped, multiplied in turn."""
    dtype, xp = ARGS.check(boxes_a, boxes_b), array_namespace(boxes_a, boxes_b)
    a, b = xp.astype(boxes_a, dtype), xp.astype(boxes_b, dtype)
    one = 1.0 if opts.pixel_inclusive else 0.0
    side_a, side_b = a[:, 3:] - a[:, :3] + one, b[:, 3:] - b[:, :3] + one
    vol_a = side_a[:, 0] * side_a[:, 1] * side_a[:, 2]
    vol_b = side_b[:, 0] * side_b[:, 1] * side_b[:, 2]
    inter = None
    for k in range(3):
        hi = xp.minimum(a[:, None, k + 3], b[None, :, k + 3])
        over = xp.clip(hi - xp.maximum(a[:, None, k], b[None, :, k]) + one, min=0.0)
        inter = over if inter is None else inter * over
    union = vol_a[:, None] + vol_b[None, :] - inter + opts.iou_eps
    iou = inter / union
    if opts.zero_union == "zero":
        iou = xp.where(union == 0, xp.zeros_like(iou), iou)
    return iou
