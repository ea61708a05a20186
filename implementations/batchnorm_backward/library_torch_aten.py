"""batchnorm_backward via torch.ops.aten.native_batch_norm_backward, the kernel autograd calls,
fed the saved statistics directly (saved_stat_is='var' becomes invstd first, a (C,) op).
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.batchnorm_backward import BatchNormBackwardOptions, check_backward, inverse_std


@implementation("batchnorm_backward", "library", "torch_aten", arrays="torch_cpu",
                requires=("torch",))  # fmt: skip
def batchnorm_backward(dy: Any, x: Any, weight: Any, running_mean: Any, running_var: Any,
    saved_mean: Any, saved_stat: Any, opts: BatchNormBackwardOptions,
) -> tuple[Any, Any, Any]:  # fmt: skip
    """One aten call; an empty x is answered here: the CPU kernel divides by zero (SIGFPE)."""
    check_backward(dy, x, weight, running_mean, running_var, saved_mean, saved_stat)
    if x.numel() == 0:
        return torch.empty_like(x), torch.zeros_like(weight), torch.zeros_like(weight)
    invstd = inverse_std(saved_stat, opts, torch)
    dx, dweight, dbias = torch.ops.aten.native_batch_norm_backward(
        dy, x, weight, running_mean, running_var, saved_mean, invstd, opts.training,
        opts.eps, [True, True, True])  # fmt: skip
    return dx, dweight, dbias
