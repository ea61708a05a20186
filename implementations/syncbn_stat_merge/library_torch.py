"""Single-process batch norm on the concatenated shards, the reference SyncBatchNorm must
equal: F.batch_norm(training=True) updates copies of the running statistics (torch's
momentum convention; Keras' is torch's with 1 - momentum; None is torch's cumulative
average), torch.var_mean (correction 0) gives the batch's statistics.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.batchnorm_forward_running_stats import BatchNormOptions
from suites.syncbn_stat_merge import check


@implementation("syncbn_stat_merge", "library", "torch_concat", arrays="torch_cpu",
                supports={"unbiased_running_var": (True,)})  # fmt: skip
def syncbn_stat_merge(shards: Any, running_mean: Any, running_var: Any, num_batches_tracked: Any,
                      opts: BatchNormOptions) -> Any:  # fmt: skip
    """torch.cat, then F.batch_norm on running copies and torch.var_mean."""
    check(shards, running_mean, running_var, num_batches_tracked, opts)
    rm, rv = running_mean.clone(), running_var.clone()
    if not opts.training:
        return rm.clone(), rv.clone(), rm, rv
    x = torch.cat(list(shards))
    if opts.momentum is None:
        momentum = 1.0 / (int(num_batches_tracked) + 1)
    else:
        momentum = opts.momentum if opts.momentum_convention == "torch" else 1 - opts.momentum
    F.batch_norm(x, rm, rv, training=True, momentum=momentum, eps=opts.eps)
    with warnings.catch_warnings():  # zero channels: torch warns of 0 dof for an empty reduction
        warnings.filterwarnings("ignore", r"var_mean\(\): degrees of freedom", UserWarning)
        var, mean = torch.var_mean(x, dim=[0, *range(2, x.ndim)], correction=0)
    return mean, var, rm, rv
