"""box_iou_axis_aligned in torch: broadcast (N, 1) x (M,) with in-place updates, any device.

Works on separate x and y extents (no (N, M, 2) corner tensors) and reuses buffers in place,
so the peak is about three (N, M) arrays; the union == 0 rule is one masked_fill_.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.box_iou_axis_aligned import OPTIONS, validate_options


def _check_boxes(boxes: Any, name: str) -> None:
    """The suite's input contract, checked on the tensor's own device."""
    if not isinstance(boxes, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(boxes).__name__}")
    if boxes.dtype == torch.bool or boxes.is_complex():
        raise TypeError(f"{name} must have a real numeric dtype, got {boxes.dtype}")
    if boxes.ndim != 2 or boxes.shape[-1] != 4:
        raise ValueError(f"{name} must have shape (K, 4), got {tuple(boxes.shape)}")
    inverted = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
    if bool(inverted.any()):  # one device sync: validation is on by default
        rows = torch.nonzero(inverted).flatten()[:5].tolist()
        raise ValueError(f"{name} has inverted boxes (x2 < x1 or y2 < y1) at rows {rows}")


def _overlap(lo_a: Any, hi_a: Any, lo_b: Any, hi_b: Any, one: float) -> Any:
    """max(0, min(hi) - max(lo) + one) over the (N, M) grid, in one fresh buffer."""
    side = torch.minimum(hi_a[:, None], hi_b)
    side.sub_(torch.maximum(lo_a[:, None], lo_b))
    if one:
        side.add_(one)
    return side.clamp_(min=0)


@implementation(
    "box_iou_axis_aligned",
    ("torch_cpu", "torch_cuda"),
    "broadcast",
    supports=OPTIONS,
)
def box_iou(
    boxes_a: Any,
    boxes_b: Any,
    *,
    pixel_inclusive: bool = False,
    iou_eps: float = 0.0,
    zero_union: str = "zero",
) -> Any:
    """Broadcast min/max per axis, in-place clamp/multiply/divide; torchvision's formula."""
    validate_options(pixel_inclusive, iou_eps, zero_union)
    _check_boxes(boxes_a, "boxes_a")
    _check_boxes(boxes_b, "boxes_b")
    dtype = torch.promote_types(boxes_a.dtype, boxes_b.dtype)
    if not dtype.is_floating_point:  # integer coordinates are promoted to float64
        dtype = torch.float64
    a, b = boxes_a.to(dtype), boxes_b.to(dtype)  # no copy when already dtype; never written
    one = 1.0 if pixel_inclusive else 0.0
    area_a = (a[:, 2] - a[:, 0] + one) * (a[:, 3] - a[:, 1] + one)
    area_b = (b[:, 2] - b[:, 0] + one) * (b[:, 3] - b[:, 1] + one)
    inter = _overlap(a[:, 0], a[:, 2], b[:, 0], b[:, 2], one)
    inter.mul_(_overlap(a[:, 1], a[:, 3], b[:, 1], b[:, 3], one))
    union = area_a[:, None] + area_b
    union.sub_(inter)
    if iou_eps:
        union.add_(iou_eps)
    iou = inter.div_(union)
    if zero_union == "zero":
        iou.masked_fill_(union == 0, 0.0)
    return iou
