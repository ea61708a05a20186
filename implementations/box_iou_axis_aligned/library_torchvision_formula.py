"""box_iou_axis_aligned: torchvision's formula, in torch (a library-style speed reference).

torchvision cannot be installed beside the CPU build of torch, so this file restates the
pure-torch broadcast that torchvision.ops.box_iou runs, in this project's own code: areas
per set, (N, M, 2) top-left maxima and bottom-right minima, the clamped width x height as
the intersection, inter / (area_a + area_b - inter). It is a far stronger speed reference
than shapely (GEOS polygon overlays), and exactly as fast as torchvision's own op would be.
Adapter: integer boxes are promoted to float64 first (the suite's convention; torchvision
keeps int areas and returns float32), and zero_union='zero' masks torchvision's 0/0 NaN.
torchvision has no pixel +1 and no eps, so neither is offered.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.box_iou_axis_aligned import ARGS, BoxIouOptions


@implementation(
    "box_iou_axis_aligned",
    "library",
    "torchvision_formula",
    arrays="torch_cpu",
    requires=("torch",),
    supports={"pixel_inclusive": (False,), "iou_eps": (0.0,), "form": ("pairwise",)},
)
def box_iou(boxes_a: Any, boxes_b: Any, opts: BoxIouOptions) -> Any:
    """torchvision's box_iou formula: (N, M, 2) corner max/min broadcast, then inter / union."""
    dtype = ARGS.check(boxes_a, boxes_b)
    a, b = boxes_a.to(dtype), boxes_b.to(dtype)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = torch.max(a[:, None, :2], b[:, :2])
    rb = torch.min(a[:, None, 2:], b[:, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[:, :, 0] * wh[:, :, 1]
    union = area_a[:, None] + area_b - inter
    iou = inter / union
    if opts.zero_union == "zero":
        iou = torch.where(union == 0, 0.0, iou)
    return iou
