"""box_iou_axis_aligned in torch: broadcast (N, 1) x (M,) with in-place updates, any device.

Works on separate x and y extents (no (N, M, 2) corner tensors) and reuses buffers in place,
so the peak is about three (N, M) arrays; the union == 0 rule is one masked_fill_.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.box_iou_axis_aligned import ARGS, BoxIouOptions


def _overlap(lo_a: Any, hi_a: Any, lo_b: Any, hi_b: Any, one: float) -> Any:
    """max(0, min(hi) - max(lo) + one) over the (N, M) grid, in one fresh buffer."""
    side = torch.minimum(hi_a[:, None], hi_b)
    side.sub_(torch.maximum(lo_a[:, None], lo_b))
    if one:
        side.add_(one)
    return side.clamp_(min=0)


@implementation(
    "box_iou_axis_aligned", ("torch_cpu", "torch_cuda"), "inplace", supports={"form": ("pairwise",)}
)
def box_iou(boxes_a: Any, boxes_b: Any, opts: BoxIouOptions) -> Any:
    """Broadcast min/max per axis, in-place clamp/multiply/divide; torchvision's formula."""
    dtype = ARGS.check(boxes_a, boxes_b)
    a, b = boxes_a.to(dtype), boxes_b.to(dtype)  # no copy when already dtype; never written
    one = 1.0 if opts.pixel_inclusive else 0.0
    area_a = (a[:, 2] - a[:, 0] + one) * (a[:, 3] - a[:, 1] + one)
    area_b = (b[:, 2] - b[:, 0] + one) * (b[:, 3] - b[:, 1] + one)
    inter = _overlap(a[:, 0], a[:, 2], b[:, 0], b[:, 2], one)
    inter.mul_(_overlap(a[:, 1], a[:, 3], b[:, 1], b[:, 3], one))
    union = area_a[:, None] + area_b
    union.sub_(inter)
    if opts.iou_eps:
        union.add_(opts.iou_eps)
    iou = inter.div_(union)
    if opts.zero_union == "zero":
        iou.masked_fill_(union == 0, 0.0)
    return iou
