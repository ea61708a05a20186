"""box_iou_axis_aligned through the array API: one broadcast over (N, 1) x (1, M), any namespace.

The same code serves NumPy, torch (CPU and CUDA) and CuPy via array-api-compat; everything
stays in the result dtype, and the union == 0 rule is one ``where``.
"""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace

from harness import implementation
from suites.box_iou_axis_aligned import BoxIouOptions, check


@implementation("box_iou_axis_aligned", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "xp")
def box_iou(boxes_a: Any, boxes_b: Any, opts: BoxIouOptions) -> Any:
    """Broadcast min/max over an (N, M) grid (or row against row when paired); areas
    computed once per box."""
    dtype, xp = check(boxes_a, boxes_b, opts), array_namespace(boxes_a, boxes_b)
    a, b = xp.astype(boxes_a, dtype), xp.astype(boxes_b, dtype)
    one = 1.0 if opts.pixel_inclusive else 0.0
    area_a = (a[:, 2] - a[:, 0] + one) * (a[:, 3] - a[:, 1] + one)
    area_b = (b[:, 2] - b[:, 0] + one) * (b[:, 3] - b[:, 1] + one)
    if opts.form == "pairwise":  # columns of a as (N, 1), of b as (1, M)
        a, b, area_a, area_b = a[:, None, :], b[None, :, :], area_a[:, None], area_b[None, :]
    iw = xp.minimum(a[..., 2], b[..., 2]) - xp.maximum(a[..., 0], b[..., 0])
    ih = xp.minimum(a[..., 3], b[..., 3]) - xp.maximum(a[..., 1], b[..., 1])
    inter = xp.clip(iw + one, min=0.0) * xp.clip(ih + one, min=0.0)
    union = area_a + area_b - inter + opts.iou_eps
    iou = inter / union
    if opts.zero_union == "zero":
        iou = xp.where(union == 0, xp.zeros_like(iou), iou)
    return iou
