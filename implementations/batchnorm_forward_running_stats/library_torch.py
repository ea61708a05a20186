"""batchnorm_forward_running_stats via torch.nn.functional.batch_norm, the call behind
nn.BatchNorm1d/2d; the running buffers are cloned first because F.batch_norm updates them in
place (a copy of C elements, negligible next to x).
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F

from harness import implementation
from suites.batchnorm_forward_running_stats import batch_weight, validate_batchnorm


@implementation(
    "batchnorm_forward_running_stats",
    "library",
    "torch",
    arrays="torch_cpu",
    requires=("torch",),
    supports={
        "training": (True, False),
        "momentum": (0.1, None, 0.99),
        "eps": (1e-5, 1e-3),
        "momentum_convention": ("torch", "keras"),
    },
    expected_failures={"zero_channels_2d": "F.batch_norm raises IndexError for C = 0 (torch 2.x)"},
)
def batchnorm(
    x: Any,
    weight: Any,
    bias: Any,
    running_mean: Any,
    running_var: Any,
    num_batches_tracked: int,
    *,
    training: bool = True,
    momentum: float | None = 0.1,
    eps: float = 1e-5,
    momentum_convention: str = "torch",
    unbiased_running_var: bool = True,
) -> tuple[Any, Any, Any]:
    """F.batch_norm on cloned buffers; keras momentum m becomes torch's 1 - m, momentum=None
    the factor 1/(num_batches_tracked + 1) that nn.BatchNorm computes."""
    shapes = [a.shape for a in (x, weight, bias, running_mean, running_var)]
    validate_batchnorm(shapes, num_batches_tracked, training, momentum, eps, momentum_convention)
    if not unbiased_running_var:
        raise ValueError(
            "unbiased_running_var=False: torch always stores the unbiased "
            "batch variance in running_var"
        )
    new_mean, new_var = running_mean.clone(), running_var.clone()
    f = batch_weight(momentum, momentum_convention, num_batches_tracked)
    y = F.batch_norm(x, new_mean, new_var, weight, bias, training=training, momentum=f, eps=eps)
    return y, new_mean, new_var
