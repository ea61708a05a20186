"""softer_nms_variance_voting in torch (any device): a shrinking candidate list.

Sorted once (stable, descending); each pick computes one IoU row against the alive boxes
only, votes with a masked weighted sum, and compacts the list with one boolean index.
Arithmetic in the input dtype; the loop is sequential (one pick per step).
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.softer_nms_variance_voting import ARGS, SofterNmsOptions


def _iou(box: Any, b: Any, area: Any) -> Any:
    iw = (torch.minimum(box[2], b[:, 2]) - torch.maximum(box[0], b[:, 0])).clamp_(min=0)
    ih = (torch.minimum(box[3], b[:, 3]) - torch.maximum(box[1], b[:, 1])).clamp_(min=0)
    inter = iw * ih
    union = (box[2] - box[0]) * (box[3] - box[1]) + area - inter
    return torch.where(union != 0, inter / union, torch.zeros_like(inter))


@implementation("softer_nms_variance_voting", ("torch_cpu", "torch_cuda"), "shrinking")
def softer_nms(boxes: Any, scores: Any, variances: Any, iou_threshold: float, sigma_t: float,
               opts: SofterNmsOptions) -> tuple[Any, Any]:  # fmt: skip
    """Stable descending sort; per pick one IoU row, masked vote, boolean compaction."""
    dtype = ARGS.check(boxes, scores, variances, iou_threshold, sigma_t)
    idx = torch.sort(scores, descending=True, stable=True).indices
    b = boxes.to(dtype)[idx]
    inv = 1 / variances.to(dtype)[idx]
    floor = 0.0 if opts.voters == "overlapping" else iou_threshold
    keep, voted = [], []
    while idx.numel():
        area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        iou = _iou(b[0], b, area)
        vote = iou > floor
        vote[0] = True
        w = torch.exp(-torch.square(1 - iou[vote]) / sigma_t)[:, None] * inv[vote]
        box = (w * b[vote]).sum(dim=0) / w.sum(dim=0)
        keep.append(idx[:1])
        voted.append(box)
        ref = box if opts.suppress_with == "voted" else b[0]
        stay = ~(_iou(ref, b, area) > iou_threshold)
        stay[0] = False
        b, inv, idx = b[stay], inv[stay], idx[stay]
    if not keep:
        return torch.empty(0, dtype=torch.int64, device=boxes.device), b.reshape(0, 4)
    return torch.cat(keep), torch.stack(voted)
