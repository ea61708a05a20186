"""grad_norm_clipping in torch, any device, without a host synchronisation: the per-tensor
norms come from one _foreach_norm (a multi-tensor kernel on CUDA), their norm is the total,
and the clamped coefficient stays a device tensor that one _foreach_mul_ applies (a
multiplication by exactly 1 leaves a gradient unchanged, so no branch on the host is needed).
The error check, when asked for, is the one synchronisation."""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.grad_norm_clipping import ClipOptions, check


@implementation("grad_norm_clipping", ("torch_cpu", "torch_cuda"), "foreach")
def clip(grads: Any, has_grad: Any, threshold: Any, opts: ClipOptions) -> Any:
    """_foreach_norm, one vector_norm of the norms, a device-side clamp, _foreach_mul_."""
    check(grads, has_grad, threshold)
    present = [g for g, h in zip(grads, has_grad.tolist(), strict=True) if h and g.numel()]
    if not present:
        device = grads[0].device if grads else None
        return torch.zeros((), dtype=torch.float32, device=device)
    p = opts.norm_type
    norms = torch._foreach_norm(present, p)
    total = torch.linalg.vector_norm(torch.stack(norms), p)
    if opts.mode == "value":
        t = float(threshold)
        torch._foreach_clamp_min_(present, -t)
        torch._foreach_clamp_max_(present, t)
        return total
    if opts.error_if_nonfinite and not bool(torch.isfinite(total)):
        raise RuntimeError(f"the total norm of order {p} is non-finite")
    coef = torch.clamp(threshold / (total + opts.eps), max=1.0).to(total.dtype)
    torch._foreach_mul_(present, coef)
    return total
