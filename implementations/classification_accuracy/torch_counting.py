"""classification_accuracy in torch (CPU or CUDA): rank counting for top-k (no sort, and a
tie order that does not depend on the device's argmax; top-1 on the CPU is its argmax, the
first maximum), comparisons for multi-label; the counts are integer reductions, divided
once in float64.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.classification_accuracy import AccuracyOptions, check


@implementation("classification_accuracy", ("torch_cpu", "torch_cuda"), "counting")
def classification_accuracy(scores: Any, target: Any, k: Any, opts: AccuracyOptions) -> Any:
    """(s > s_y) and the earlier ties summed per row; one count, one division."""
    n, c = check(scores, target, k, opts)
    if opts.task == "top_k":
        lower = opts.tie_break == "lower_index"
        if k >= c:
            return torch.ones((), dtype=torch.float64, device=scores.device)
        if k == 1 and scores.device.type == "cpu":  # the CPU argmax returns the first maximum
            top = scores.argmax(1) if lower else c - 1 - scores.flip(1).argmax(1)
            return (top == target).sum().double() / n
        sy = scores.gather(1, target[:, None])
        cols = torch.arange(c, device=scores.device)
        before = cols < target[:, None] if lower else cols > target[:, None]
        rank = (scores > sy).sum(1) + ((scores == sy) & before).sum(1)
        return (rank < k).sum().double() / n
    pred = scores >= 0.5 if opts.threshold == "ge" else scores > 0.5
    right = pred == target.bool()
    if opts.task == "hamming":
        return right.sum().double() / (n * c)
    return right.all(dim=1).sum().double() / n
