"""atss_assignment in torch (CPU and CUDA): the batch's (B, G, A) IoU and squared-distance
tensors at once, a stable sort per level over the whole batch, candidate statistics as
reductions (the std written out, so one candidate gives NaN without a warning), and the
multi-GT resolution as a scatter into a (B, G, A) claim tensor and a max over GTs.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.atss_assignment import MARGINS, AtssOptions, check

F64 = torch.float64


@implementation("atss_assignment", ("torch_cpu", "torch_cuda"), "batched")
def atss_assignment(
    anchors: Any, level_sizes: Any, gt_boxes: Any, k: int, opts: AtssOptions
) -> Any:
    """Everything batched over images and GTs; a loop over levels only."""
    dtype = check(anchors, level_sizes, gt_boxes, k)
    a, g = anchors.to(F64), gt_boxes.to(F64)
    n_img, n_gt, n_a = g.shape[0], g.shape[1], a.shape[0]
    assigned = torch.full((n_img, n_a), -1, dtype=torch.int64, device=a.device)
    if n_gt == 0:
        return assigned, torch.zeros((n_img, 0), dtype=dtype, device=a.device)
    ax1, ay1, ax2, ay2 = (c[None, None, :] for c in a.unbind(1))
    gx1, gy1, gx2, gy2 = (c[..., None] for c in g.unbind(2))
    inter = (torch.minimum(ax2, gx2) - torch.maximum(ax1, gx1)).clamp_(min=0)
    inter.mul_((torch.minimum(ay2, gy2) - torch.maximum(ay1, gy1)).clamp_(min=0))
    union = (ax2 - ax1) * (ay2 - ay1) + (gx2 - gx1) * (gy2 - gy1) - inter
    iou = torch.where(union != 0, inter / union, torch.zeros((), dtype=F64, device=a.device))
    cx, cy = (ax1 + ax2) / 2, (ay1 + ay2) / 2  # (1, 1, A)
    d2 = (cx - (gx1 + gx2) / 2) ** 2 + (cy - (gy1 + gy2) / 2) ** 2  # (B, G, A)
    parts, start = [], 0
    for n in level_sizes.tolist():
        if n:
            order = torch.sort(d2[..., start : start + n], dim=2, stable=True).indices
            parts.append(order[..., :k] + start)
        start += n
    cand = torch.cat(parts, dim=2)  # (B, G, K)
    v = torch.gather(iou, 2, cand)
    size = v.shape[2]
    mean = v.mean(dim=2)
    std = (((v - mean[..., None]) ** 2).sum(dim=2) / (size - opts.ddof)).sqrt()
    thr = mean + std if size > opts.ddof else torch.full_like(mean, torch.nan)
    pos = v >= thr[..., None]
    if opts.center_inside != "off":
        ccx, ccy = cx[0, 0][cand], cy[0, 0][cand]
        ltrb = torch.minimum(
            torch.minimum(ccx - gx1, ccy - gy1), torch.minimum(gx2 - ccx, gy2 - ccy)
        )
        pos &= ltrb > MARGINS[opts.center_inside]
    claim = torch.full((n_img, n_gt, n_a), -torch.inf, dtype=F64, device=a.device)
    claim.scatter_(2, cand, torch.where(pos, v, torch.full_like(v, -torch.inf)))
    best = claim.amax(dim=1)
    assigned = torch.where(best > -torch.inf, claim.argmax(dim=1), assigned)
    return assigned, thr.to(dtype)
