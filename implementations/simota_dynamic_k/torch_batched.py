"""simota_dynamic_k in torch (CPU and CUDA): geometry masks for the batch on the device, per
image the candidate columns' cost, dynamic k from topk, the k cheapest per GT from the k-th
smallest cost plus lowest-index ties by a running count, and an argmin over GTs."""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.simota_dynamic_k import ARGS, SimOtaOptions

F64 = torch.float64


@implementation("simota_dynamic_k", ("torch_cpu", "torch_cuda"), "batched")
def simota_dynamic_k(
    anchor_centres: Any,
    anchor_strides: Any,
    gt_boxes: Any,
    pair_ious: Any,
    cls_cost: Any,
    center_radius: float,
    q: int,
    opts: SimOtaOptions,
) -> Any:
    """Masks for the batch, then per image topk-based selections."""
    ARGS.check(anchor_centres, anchor_strides, gt_boxes, pair_ious, cls_cost, center_radius, q)
    dev = anchor_centres.device
    c, s, g = anchor_centres.to(F64), anchor_strides.to(F64), gt_boxes.to(F64)
    n_img, n_gt, n_a = g.shape[0], g.shape[1], c.shape[0]
    matched = torch.full((n_img, n_a), -1, dtype=torch.int64, device=dev)
    dynamic_k = torch.zeros((n_img, n_gt), dtype=torch.int64, device=dev)
    if n_gt == 0:
        return matched, dynamic_k
    x, y = c[:, 0], c[:, 1]
    x1, y1, x2, y2 = (g[..., i, None] for i in range(4))
    in_box = (x > x1) & (y > y1) & (x < x2) & (y < y2)  # (B, G, A)
    cx, cy, half = (x1 + x2) / 2, (y1 + y2) / 2, center_radius * s
    in_ctr = (x > cx - half) & (y > cy - half) & (x < cx + half) & (y < cy + half)
    pool = in_ctr if opts.candidates == "center" else in_box | in_ctr
    rows = torch.arange(n_gt, device=dev)
    for b in range(n_img):
        cand = torch.nonzero(pool[b].any(dim=0)).flatten()
        if cand.numel() == 0:
            continue
        iou = pair_ious[b].to(F64)[:, cand]
        cost = cls_cost[b].to(F64)[:, cand] - 3.0 * torch.log(iou + 1e-8)
        cost += 1e5 * (~(in_box[b][:, cand] & in_ctr[b][:, cand])).to(F64)
        top_q = min(q, cand.numel())
        k = torch.topk(iou, top_q, dim=1).values.sum(dim=1).floor().clamp(min=1).to(torch.int64)
        dynamic_k[b] = k
        k_max = int(k.max())
        smallest = torch.topk(cost, k_max, dim=1, largest=False, sorted=True).values
        kth = smallest[rows, k - 1][:, None]
        below, tied = cost < kth, cost == kth
        need = (k - below.sum(dim=1))[:, None]
        picked = below | (tied & (torch.cumsum(tied.to(torch.int64), dim=1) <= need))
        chosen = torch.where(picked, cost, torch.full_like(cost, torch.inf))
        owner = chosen.argmin(dim=0)  # the first (lower) GT among equal costs
        hit = torch.isfinite(chosen[owner, torch.arange(cand.numel(), device=dev)])
        matched[b, cand[hit]] = owner[hit]
    return matched, dynamic_k
