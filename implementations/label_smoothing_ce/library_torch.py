"""torch.nn.functional.cross_entropy(label_smoothing=ε), as a practitioner calls it.

torch implements the uniform distribution only (ε/C on every class, the target included).
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F

from harness import implementation
from suites.label_smoothing_ce import SmoothingOptions, check


@implementation(
    "label_smoothing_ce",
    "library",
    "torch",
    arrays="torch_cpu",
    supports={"distribution": ("uniform",)},
)
def label_smoothing_ce(logits: Any, target: Any, weight: Any, smoothing: Any,
                       opts: SmoothingOptions) -> Any:  # fmt: skip
    """F.cross_entropy(logits, target, weight, ignore_index, reduction, label_smoothing=ε)."""
    check(logits, target, weight, smoothing, opts)
    return F.cross_entropy(logits, target, weight, ignore_index=opts.ignore_index,
                           reduction=opts.reduction, label_smoothing=float(smoothing))  # fmt: skip
