"""roc_auc in torch ops (CPU or CUDA): torch.sort of the scores, labels gathered in that
order, group ends where the sorted score changes, cumulative negative counts (int64) at
the group ends and the trapezoid over the groups, all on the device.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from harness import implementation
from suites.roc_auc import AucOptions, check, combine, curves


def _auc(s: Any, y: Any) -> tuple[float, int]:
    value, order = torch.sort(s)
    neg = 1 - y[order].to(torch.int64)
    n = neg.numel()
    ends = torch.nonzero(value[1:] != value[:-1]).flatten()
    idx = torch.cat((ends, torch.tensor([n - 1], device=s.device)))
    neg_upto = torch.cumsum(neg, 0)[idx]
    pos_upto = idx + 1 - neg_upto
    pos_g = torch.diff(pos_upto, prepend=pos_upto.new_zeros(1))
    neg_prev = torch.cat((neg_upto.new_zeros(1), neg_upto[:-1]))
    twice = int((pos_g * (neg_prev + neg_upto)).sum())
    n_pos = int(pos_upto[-1])
    return twice / (2.0 * n_pos * (n - n_pos)), n_pos


@implementation("roc_auc", ("torch_cpu", "torch_cuda"), "sort")
def roc_auc(scores: Any, labels: Any, opts: AucOptions) -> Any:
    """torch.sort per curve, integer trapezoids on the device."""
    check(scores, labels, opts)
    found = [_auc(s, y) for s, y in curves(scores, labels, opts)]
    out = combine([a for a, _ in found], [p for _, p in found], opts, scores.ndim)
    return torch.from_numpy(np.array(out)).to(scores.device, scores.dtype)
