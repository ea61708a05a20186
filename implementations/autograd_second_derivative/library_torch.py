"""torch's automatic differentiation applied twice to f written in torch ops. Double
backward: g = autograd.grad(f, x, create_graph=True), then autograd.grad(g, x, v) (H is
symmetric, so the VJP is H v); the Hessian through torch.autograd.functional.hessian
(vectorize=True). Forward-over-reverse: torch.func.jvp(torch.func.grad(f)), and
torch.func.hessian (jacfwd of jacrev).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch

from harness import implementation
from suites.autograd_second_derivative import SecondDerivativeOptions, check

HESSIAN: Any = torch.autograd.functional.hessian  # untyped in torch


def scalar_function(a: Any, opts: SecondDerivativeOptions) -> Callable[[Any], Any]:
    """f(x) as a torch expression (a closed over)."""
    if opts.function == "cubic":
        return lambda x: (x**3).sum()
    if opts.function == "logsumexp":
        return lambda x: torch.logsumexp(x, dim=0)
    if opts.function == "tanh_layer":
        return lambda x: torch.tanh(a @ x).sum()
    return lambda x: torch.relu(a @ x).sum()


def _empty(x: Any, opts: SecondDerivativeOptions) -> Any:
    n = x.shape[0]
    return x.new_zeros((n, n) if opts.result == "hessian" else (n,))


@implementation(
    "autograd_second_derivative", "library", "torch_double_backward", arrays="torch_cpu"
)
def double_backward(x: Any, v: Any, a: Any, opts: SecondDerivativeOptions) -> Any:
    """autograd.grad(create_graph=True) then autograd.grad(g, x, v); functional.hessian."""
    check(x, v, a)
    f = scalar_function(a, opts)
    if x.numel() == 0:
        return _empty(x, opts)
    if opts.result == "hessian":
        return HESSIAN(f, x, vectorize=True)
    leaf = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f(leaf), leaf, create_graph=True)
    (hv,) = torch.autograd.grad(g, leaf, v, allow_unused=True, materialize_grads=True)
    return hv


@implementation("autograd_second_derivative", "library", "torch_func", arrays="torch_cpu")
def forward_over_reverse(x: Any, v: Any, a: Any, opts: SecondDerivativeOptions) -> Any:
    """torch.func.jvp(torch.func.grad(f), (x,), (v,)); torch.func.hessian(f)(x)."""
    check(x, v, a)
    f = scalar_function(a, opts)
    if x.numel() == 0:
        return _empty(x, opts)
    with warnings.catch_warnings():  # torch.func scripts a helper through the deprecated jit
        warnings.filterwarnings("ignore", "`torch.jit.script` is deprecated", DeprecationWarning)
        if opts.result == "hessian":
            return torch.func.hessian(f)(x)
        return torch.func.jvp(torch.func.grad(f), (x,), (v,))[1]
