"""nms_greedy.batched in torch: nms_greedy's blocked suppression mask, ANDed with "same class".

Boxes are sorted once (stable, lower index first among ties); the still-live rows of each
block of 512 sorted boxes get their IoU-and-class mask against the later boxes in one
broadcast, then a short host loop walks them. No coordinate offsets (torchvision's trick
costs float32 precision as class ids grow). The same code runs on CPU and CUDA tensors.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.nms_greedy import BATCHED_ARGS, NmsOptions

_BLOCK = 512


def _rows_mask(
    b: torch.Tensor,
    cls: torch.Tensor,
    area: torch.Tensor,
    rows: torch.Tensor,
    c0: int,
    thr: float,
    ge: bool,
) -> torch.Tensor:
    """Boolean (len(rows), n - c0): sorted box ``rows[r]`` suppresses sorted box c0 + j."""
    r, c = b[rows, None, :], b[None, c0:, :]
    iw = torch.minimum(r[..., 2], c[..., 2]) - torch.maximum(r[..., 0], c[..., 0])
    ih = torch.minimum(r[..., 3], c[..., 3]) - torch.maximum(r[..., 1], c[..., 1])
    inter = iw.clamp_min_(0) * ih.clamp_min_(0)
    union = area[rows, None] + area[None, c0:] - inter
    iou = torch.where(union != 0, inter / union, 0.0)  # zero union: IoU 0
    hit = iou >= thr if ge else iou > thr
    return hit & (cls[rows, None] == cls[None, c0:])


@implementation("nms_greedy.batched", ("torch_cpu", "torch_cuda"), "classwise_mask")
def nms_batched(boxes: Any, scores: Any, idxs: Any, iou_threshold: float, opts: NmsOptions) -> Any:
    """Blocked IoU-and-class mask in the input dtype, then a sequential sweep on the CPU."""
    dtype, n = BATCHED_ARGS.check(boxes, scores, idxs, iou_threshold), boxes.shape[0]
    # + 0.0 folds -0.0 into +0.0: a radix sort (CUDA) would otherwise order them apart
    order = torch.sort(scores + 0.0, descending=True, stable=True).indices
    b = boxes[order].to(dtype)
    cls = idxs[order]
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    thr, ge = float(iou_threshold), opts.suppress_if == "ge"
    removed = torch.zeros(n, dtype=torch.bool)  # host side, in sorted order
    keep: list[int] = []
    for r0 in range(0, n, _BLOCK):
        rows = torch.nonzero(~removed[r0 : r0 + _BLOCK]).flatten() + r0
        if rows.numel() == 0:
            continue
        mask = _rows_mask(b, cls, area, rows.to(b.device), r0, thr, ge).cpu()
        live = removed[r0:]  # a view: updates land in ``removed``
        for m, i in enumerate(rows.tolist()):
            if not live[i - r0]:
                keep.append(i)
                live[i - r0 + 1 :] |= mask[m, i - r0 + 1 :]
    return order[torch.tensor(keep, dtype=torch.int64, device=order.device)]
