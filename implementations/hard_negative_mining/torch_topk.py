"""hard_negative_mining in torch (CPU or CUDA): ce by F.cross_entropy over the batch, the
positives' ce masked to -inf, one topk of the largest per-image k along the anchors, and the
values past each image's own k masked out; no per-image loop, no double argsort.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.hard_negative_mining import MiningOptions, check


@implementation("hard_negative_mining", ("torch_cpu", "torch_cuda"), "topk")
def hard_negative_mining(logits: Any, labels: Any, ratio: Any, opts: MiningOptions) -> Any:
    """cross_entropy(reduction='none'), masked topk, two sums."""
    check(logits, labels, ratio)
    b, a, c = logits.shape
    if b * a == 0:
        return torch.zeros((), dtype=logits.dtype, device=logits.device)
    ce = F.cross_entropy(logits.reshape(-1, c), labels.reshape(-1), reduction="none").view(b, a)
    pos = labels > 0
    n_pos = pos.sum(1)
    n_neg = a - n_pos
    want = torch.where(n_pos > 0, n_pos * int(ratio), opts.min_negatives)
    k = torch.minimum(want, n_neg)
    neg = ce.masked_fill(pos, -torch.inf)
    k_max = int(k.max())
    total = ce[pos].sum()
    if k_max:
        top = neg.topk(k_max, dim=1).values
        keep = torch.arange(k_max, device=ce.device) < k[:, None]
        total = total + top.masked_fill(~keep, 0).sum()
    return total / n_pos.sum().clamp_min(1)
