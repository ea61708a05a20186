"""pooling_max_avg through torch.nn.functional.max_pool2d / avg_pool2d (torch CPU kernels)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.pooling_max_avg import ARGS, PoolOptions, pool_axes


@implementation("pooling_max_avg", "library", "torch", arrays="torch_cpu", requires=("torch",))
def pool(x: Any, opts: PoolOptions) -> Any:
    """F.max_pool2d(x, k, s, p, d, ceil_mode) or F.avg_pool2d(x, k, s, p, ceil_mode, ...)."""
    ARGS.check(x)
    ah, aw = pool_axes(x.shape, opts)  # torch's message differs: one ValueError everywhere
    if x.shape[1] == 0:  # torch refuses a zero channel axis
        return torch.empty((x.shape[0], 0, ah.out, aw.out), dtype=x.dtype, device=x.device)
    if opts.op == "max":
        return F.max_pool2d(x, opts.kernel, opts.steps, opts.padding, opts.dilation, opts.ceil_mode)
    return F.avg_pool2d(x, opts.kernel, opts.steps, opts.padding, opts.ceil_mode,
                        opts.count_include_pad, opts.divisor_override)  # fmt: skip
