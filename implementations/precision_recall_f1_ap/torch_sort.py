"""precision_recall_f1_ap in torch ops (CPU or CUDA): the counts at the threshold by
reductions of boolean masks; AP from torch.sort (descending), labels gathered, group ends
where the sorted score changes, cumulative true positives there and the step sum.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.precision_recall_f1_ap import PrfOptions, check, combine, curves


def _curve(s: Any, y: Any, t: float) -> tuple[int, int, int, float]:
    pos = y == 1
    pred = s >= t
    n_pos = int(pos.sum())
    tp = int((pred & pos).sum())
    fp = int(pred.sum()) - tp
    if n_pos == 0:
        return tp, fp, 0, 0.0
    value, order = torch.sort(s, descending=True)
    lab = pos[order].to(torch.int64)
    ends = torch.nonzero(value[1:] != value[:-1]).flatten()
    idx = torch.cat((ends, torch.tensor([lab.numel() - 1], device=s.device)))
    tps = torch.cumsum(lab, 0)[idx]
    gained = torch.diff(tps, prepend=tps.new_zeros(1))
    ap = float((gained * (tps / (idx + 1.0).to(torch.float64))).sum()) / n_pos
    return tp, fp, n_pos - tp, ap


@implementation("precision_recall_f1_ap", ("torch_cpu", "torch_cuda"), "sort",
                supports={"ap_interp": ("step",), "ties": ("grouped",)})  # fmt: skip
def precision_recall_f1_ap(scores: Any, labels: Any, threshold: Any, beta: Any,
                           opts: PrfOptions) -> Any:  # fmt: skip
    """Mask reductions for the counts, torch.sort for AP, per curve."""
    check(scores, labels, threshold, beta, opts)
    rows = [_curve(s, y, float(threshold)) for s, y in curves(scores, labels, opts)]
    return tuple(torch.from_numpy(v.copy()).to(scores.device, scores.dtype)
                 for v in combine(rows, float(beta), opts))  # fmt: skip
