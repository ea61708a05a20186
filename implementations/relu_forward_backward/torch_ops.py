"""relu_forward_backward in torch ops (CPU or CUDA): torch.relu or torch.fmax with a 0-d zero
(NaN to 0) forward; backward torch's fused threshold_backward kernel, dx = where(x <= t, 0,
g), with t = 0, or t = minus the smallest subnormal of the dtype for grad_at_zero='one'
(x <= -tiny is x < 0 exactly); a select, so no NaN of g leaks where x is dropped.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.relu_forward_backward import ARGS, ReluBackwardOptions, ReluOptions, check_backward


@implementation("relu_forward_backward", ("torch_cpu", "torch_cuda"), "ops")
def relu(x: Any, opts: ReluOptions) -> Any:
    """One elementwise kernel."""
    ARGS.check(x)
    if opts.nan == "propagate":
        return torch.relu(x)
    return torch.fmax(x, torch.zeros((), dtype=x.dtype, device=x.device))


@implementation("relu_forward_backward.backward", ("torch_cpu", "torch_cuda"), "ops")
def relu_backward(x: Any, g: Any, opts: ReluBackwardOptions) -> Any:
    """One threshold_backward pass (no boolean mask in memory)."""
    check_backward(x, g)
    t = 0.0 if opts.grad_at_zero == "zero" else -float(torch.finfo(x.dtype).smallest_normal
                                                        * torch.finfo(x.dtype).eps)  # fmt: skip
    return torch.ops.aten.threshold_backward(g, x, t)
