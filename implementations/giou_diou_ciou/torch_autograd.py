"""giou_diou_ciou.backward by torch autograd of torchvision's loss formula (any device).

What a torch user gets: the paired loss written as torchvision's *_box_iou_loss (alpha
under no_grad unless detach_alpha=False), the graph built once outside the timed call
(prepare=True), and the timed call is torch.autograd.grad through it with the upstream
gradient (retain_graph so it can be timed again).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from harness import implementation
from suites.giou_diou_ciou import GiouBackwardOptions, check_backward


def _loss(a: Any, b: Any, opts: GiouBackwardOptions) -> Any:
    x1, y1, x2, y2 = a.unbind(-1)
    p1, q1, p2, q2 = b.unbind(-1)
    iw = torch.min(x2, p2) - torch.max(x1, p1)
    ih = torch.min(y2, q2) - torch.max(y1, q1)
    inter = torch.where((iw > 0) & (ih > 0), iw * ih, torch.zeros_like(iw))
    union = (x2 - x1) * (y2 - y1) + (p2 - p1) * (q2 - q1) - inter
    e = opts.eps
    iou = inter / (union + e)
    cw, ch = torch.max(x2, p2) - torch.min(x1, p1), torch.max(y2, q2) - torch.min(y1, q1)
    if opts.metric == "giou":
        area_c = cw * ch
        return 1 - (iou - (area_c - union) / (area_c + e))
    rho2 = ((x1 + x2 - p1 - p2) / 2) ** 2 + ((y1 + y2 - q1 - q2) / 2) ** 2
    loss = 1 - iou + rho2 / (cw**2 + ch**2 + e)
    if opts.metric == "diou":
        return loss
    v = (4 / math.pi**2) * (
        torch.atan((p2 - p1) / (q2 - q1)) - torch.atan((x2 - x1) / (y2 - y1))
    ) ** 2
    with torch.no_grad() if opts.detach_alpha else torch.enable_grad():
        alpha = v / (1 - iou + v + e)
    return loss + alpha * v


@implementation("giou_diou_ciou.backward", ("torch_cpu", "torch_cuda"), "autograd", prepare=True)
def giou_backward(
    boxes_a: Any, boxes_b: Any, grad: Any, opts: GiouBackwardOptions
) -> Callable[[], Any]:
    """Setup: the forward graph; timed: autograd.grad with the upstream gradient."""
    dtype = check_backward(boxes_a, boxes_b, grad, opts)
    a = boxes_a.to(dtype).detach().requires_grad_(True)
    loss = _loss(a, boxes_b.to(dtype), opts)
    if opts.reduction == "sum":
        loss = loss.sum()
    elif opts.reduction == "mean":
        loss = loss.sum() / max(a.shape[0], 1)
    g = grad.to(dtype)

    def backward() -> Any:
        if a.shape[0] == 0:
            return torch.zeros_like(a).detach()
        (da,) = torch.autograd.grad(loss, a, g, retain_graph=True)
        return da

    return backward
