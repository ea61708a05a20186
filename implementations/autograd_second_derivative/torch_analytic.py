"""autograd_second_derivative in closed form with torch ops (CPU or CUDA): no graph at all.
Layers: HVP A^T(d * (A v)) (two matrix-vector products), Hessian (A^T * d) A (one GEMM);
logsumexp: p*v - p*(p.v) or diag(p) - p p^T; cubic: 6 x v or diag(6x).
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.autograd_second_derivative import SecondDerivativeOptions, check, curvature


@implementation("autograd_second_derivative", ("torch_cpu", "torch_cuda"), "analytic")
def second_derivative(x: Any, v: Any, a: Any, opts: SecondDerivativeOptions) -> Any:
    """The closed-form HVP or Hessian of the chosen f, in x's dtype and device."""
    check(x, v, a)
    hessian = opts.result == "hessian"
    if opts.function == "cubic":
        return torch.diag(6.0 * x) if hessian else (6.0 * x).mul_(v)
    if opts.function == "logsumexp":
        p = torch.softmax(x, dim=0) if x.numel() else x.clone()
        if hessian:
            return torch.diag(p).sub_(torch.outer(p, p))
        return (p * v).sub_(p * torch.dot(p, v))
    d = curvature(opts.function, a @ x, torch)
    if hessian:
        return (a.T * d) @ a
    return a.T @ d.mul_(a @ v)
