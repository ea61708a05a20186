"""nms_greedy in torch: suppression mask in row blocks on the device, sweep on the host.

Boxes are sorted once (stable, lower index first among ties); the still-live rows of each
block of 512 sorted boxes get their IoU-vs-later-boxes mask in one broadcast (memory bounded
by the block), then a short host loop walks them. The same code runs on CPU and CUDA tensors.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.nms_greedy import ARGS, NmsOptions

_BLOCK = 512


def _rows_mask(
    b: torch.Tensor, area: torch.Tensor, rows: torch.Tensor, c0: int, thr: float, ge: bool
) -> torch.Tensor:
    """Boolean (len(rows), n - c0): sorted box ``rows[r]`` suppresses sorted box c0 + j."""
    r, c = b[rows, None, :], b[None, c0:, :]
    iw = torch.minimum(r[..., 2], c[..., 2]) - torch.maximum(r[..., 0], c[..., 0])
    ih = torch.minimum(r[..., 3], c[..., 3]) - torch.maximum(r[..., 1], c[..., 1])
    inter = iw.clamp_min_(0) * ih.clamp_min_(0)
    union = area[rows, None] + area[None, c0:] - inter
    iou = torch.where(union != 0, inter / union, 0.0)  # zero union: IoU 0
    return iou >= thr if ge else iou > thr


@implementation("nms_greedy", ("torch_cpu", "torch_cuda"), "blocked_mask")
def nms(boxes: Any, scores: Any, iou_threshold: float, opts: NmsOptions) -> Any:
    """Blocked IoU-threshold mask in the input dtype, then a sequential sweep on the CPU."""
    dtype, n = ARGS.check(boxes, scores, iou_threshold), boxes.shape[0]
    # + 0.0 folds -0.0 into +0.0: a radix sort (CUDA) would otherwise order them apart
    order = torch.sort(scores + 0.0, descending=True, stable=True).indices
    b = boxes[order].to(dtype)
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    thr, ge = float(iou_threshold), opts.suppress_if == "ge"
    removed = torch.zeros(n, dtype=torch.bool)  # host side, in sorted order
    keep: list[int] = []
    for r0 in range(0, n, _BLOCK):
        # rows already removed by earlier blocks can suppress nothing: skip their IoUs
        rows = torch.nonzero(~removed[r0 : r0 + _BLOCK]).flatten() + r0
        if rows.numel() == 0:
            continue
        mask = _rows_mask(b, area, rows.to(b.device), r0, thr, ge).cpu()
        live = removed[r0:]  # a view: updates land in ``removed``
        for m, i in enumerate(rows.tolist()):
            if not live[i - r0]:
                keep.append(i)
                live[i - r0 + 1 :] |= mask[m, i - r0 + 1 :]
    return order[torch.tensor(keep, dtype=torch.int64, device=order.device)]
