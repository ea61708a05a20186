"""class_balanced_sampling_weights in torch (CPU): torch.bincount, the weights in float64
tensor ops (expm1 for 1 − β^n), and an index gather for the samples.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.class_balanced_sampling_weights import BalanceOptions, check


@implementation("class_balanced_sampling_weights", "torch_cpu", "bincount")
def class_balanced_sampling_weights(labels: Any, num_classes: Any, beta: Any,
                                    num_samples: Any, opts: BalanceOptions) -> Any:  # fmt: skip
    """bincount, masked weights, gather."""
    check(labels, num_classes, beta, num_samples)
    n = torch.bincount(labels, minlength=int(num_classes)).double()
    present = n > 0
    safe = torch.where(present, n, 1.0)
    b = float(beta)
    if opts.scheme == "inverse":
        w = 1.0 / safe
    elif opts.scheme == "balanced":
        w = n.sum() / (present.sum() * safe)
    elif b > 0:
        w = (1.0 - b) / -torch.expm1(safe * torch.log(beta.double()))
    else:
        w = torch.ones_like(n)
    w = torch.where(present, w, 0.0)
    if opts.normalize == "sum_to_classes":
        w = w * (present.sum() / w.sum())
    return w, w[labels]
