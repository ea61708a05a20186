"""batchnorm_forward_running_stats via torch.nn.functional.batch_norm, the call behind
nn.BatchNorm1d/2d; the running buffers are cloned first because F.batch_norm updates them in
place (a copy of C elements, negligible next to x).
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F

from harness import implementation
from suites.batchnorm_forward_running_stats import ARGS, BatchNormOptions, batch_weight


@implementation(
    "batchnorm_forward_running_stats",
    "library",
    "torch",
    arrays="torch_cpu",
    requires=("torch",),
    # torch always stores the unbiased batch variance in running_var
    supports={"unbiased_running_var": (True,)},
    expected_failures=dict.fromkeys(
        ("zero_channels_2d", "zero_channels_4d"), "F.batch_norm raises IndexError for C = 0"
    ),
)
def batchnorm(x: Any, weight: Any, bias: Any, running_mean: Any, running_var: Any,
    num_batches_tracked: int, opts: BatchNormOptions) -> tuple[Any, Any, Any]:  # fmt: skip
    """F.batch_norm on cloned buffers; keras momentum m becomes torch's 1 - m, momentum=None
    the factor 1/(num_batches_tracked + 1) that nn.BatchNorm computes."""
    ARGS.check(x, weight, bias, running_mean, running_var, num_batches_tracked)
    new_mean, new_var = running_mean.clone(), running_var.clone()
    f = batch_weight(opts, num_batches_tracked)
    y = F.batch_norm(
        x, new_mean, new_var, weight, bias, training=opts.training, momentum=f, eps=opts.eps
    )
    return y, new_mean, new_var
