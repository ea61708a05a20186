"""box_iou_axis_aligned through the array API: one broadcast over (N, 1) x (1, M), any namespace.

The same code serves NumPy, torch (CPU and CUDA) and CuPy via array-api-compat; everything
stays in the result dtype, and the union == 0 rule is one ``where``.
"""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace

from harness import implementation
from suites.box_iou_axis_aligned import ARGS, IouOptions


@implementation("box_iou_axis_aligned", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "xp")
def box_iou(boxes_a: Any, boxes_b: Any, opts: IouOptions) -> Any:
    """Broadcast min/max over an (N, M) grid; areas computed once per box."""
    dtype, xp = ARGS.check(boxes_a, boxes_b), array_namespace(boxes_a, boxes_b)
    a, b = xp.astype(boxes_a, dtype), xp.astype(boxes_b, dtype)
    one = 1.0 if opts.pixel_inclusive else 0.0
    area_a = (a[:, 2] - a[:, 0] + one) * (a[:, 3] - a[:, 1] + one)
    area_b = (b[:, 2] - b[:, 0] + one) * (b[:, 3] - b[:, 1] + one)
    iw = xp.minimum(a[:, None, 2], b[None, :, 2]) - xp.maximum(a[:, None, 0], b[None, :, 0])
    ih = xp.minimum(a[:, None, 3], b[None, :, 3]) - xp.maximum(a[:, None, 1], b[None, :, 1])
    inter = xp.clip(iw + one, min=0.0) * xp.clip(ih + one, min=0.0)
    union = area_a[:, None] + area_b[None, :] - inter + opts.iou_eps
    iou = inter / union
    if opts.zero_union == "zero":
        iou = xp.where(union == 0, xp.zeros_like(iou), iou)
    return iou
