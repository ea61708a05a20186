"""torch.nn.functional.triplet_margin_loss, as a practitioner calls it; squared distances go
through F.triplet_margin_with_distance_loss with F.pairwise_distance squared.
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F

from harness import implementation
from suites.triplet_loss import TripletOptions, check

FAILS = {
    "margin_zero_none": "torch refuses margin = 0 (ValueError: margin must be greater than 0)",
    "empty_dim_p_inf_none": "torch's vector_norm refuses ord=inf over an empty axis (D = 0)",
}


@implementation("triplet_loss", "library", "torch", arrays="torch_cpu",
                expected_failures=FAILS)  # fmt: skip
def triplet_loss(anchor: Any, positive: Any, negative: Any, margin: Any, p: Any,
                 opts: TripletOptions) -> Any:  # fmt: skip
    """F.triplet_margin_loss(margin, p, eps, swap, reduction)."""
    check(anchor, positive, negative, margin, p)
    pw, m = float(p), float(margin)
    if opts.squared:
        return F.triplet_margin_with_distance_loss(
            anchor, positive, negative, margin=m, swap=opts.swap, reduction=opts.reduction,
            distance_function=lambda x, y: F.pairwise_distance(x, y, pw, opts.eps).square(),
        )  # fmt: skip
    return F.triplet_margin_loss(anchor, positive, negative, margin=m, p=pw, eps=opts.eps,
                                 swap=opts.swap, reduction=opts.reduction)  # fmt: skip
