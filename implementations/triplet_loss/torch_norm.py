"""triplet_loss in torch ops (CPU or CUDA): each difference formed once and shifted by eps in
place, torch.linalg.vector_norm along D (one fused reduction), then the hinge in place.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.triplet_loss import TripletOptions, check


def _distance(x: Any, y: Any, p: float, opts: TripletOptions) -> Any:
    v = torch.sub(x, y)
    if opts.eps:
        v.add_(opts.eps)
    if opts.squared and p == 2:
        return torch.linalg.vecdot(v, v, dim=1)  # no sqrt to undo
    if v.shape[1] == 0:  # vector_norm refuses ord=inf over an empty axis: every norm is 0
        return v.new_zeros(v.shape[0])
    d = torch.linalg.vector_norm(v, ord=p, dim=1)
    return d.square_() if opts.squared else d


@implementation("triplet_loss", ("torch_cpu", "torch_cuda"), "norm")
def triplet_loss(anchor: Any, positive: Any, negative: Any, margin: Any, p: Any,
                 opts: TripletOptions) -> Any:  # fmt: skip
    """vector_norm of each difference; sub_, add_, clamp_min_ on the (B,) distances."""
    check(anchor, positive, negative, margin, p)
    pw = float(p)
    d_ap, d_an = _distance(anchor, positive, pw, opts), _distance(anchor, negative, pw, opts)
    if opts.swap:
        d_an = torch.minimum(d_an, _distance(positive, negative, pw, opts))  # NaN propagates
    loss = d_ap.sub_(d_an).add_(float(margin)).clamp_min_(0)
    if opts.reduction == "none":
        return loss
    if opts.reduction == "sum":
        return loss.sum()
    return loss.mean()
