"""torch.nn as a training loop accumulates: Linear -> BatchNorm1d(affine=False) -> ReLU ->
mask -> Linear, model.zero_grad(set_to_none=True), then per micro-batch
(c_k * 0.5*((out - y)**2).sum(1).mean()).backward() adding into .grad. Setup (the modules,
the weights copied in) is outside the timing; the call zeroes and runs the K backward calls.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from harness import implementation
from suites.gradient_accumulation import BN_EPS, AccumulationOptions, check


def _linear(w: Any, b: Any) -> nn.Linear:
    with warnings.catch_warnings():  # a zero-width layer: nothing to initialise
        warnings.filterwarnings("ignore", message="Initializing zero-element tensors")
        lin = nn.Linear(w.shape[0], w.shape[1], dtype=w.dtype, device=w.device)
    with torch.no_grad():
        lin.weight.copy_(w.T)
        lin.bias.copy_(b)
    return lin


@implementation("gradient_accumulation", "library", "torch_nn", arrays="torch_cpu", prepare=True)
def accumulate(x: Any, y: Any, w1: Any, b1: Any, w2: Any, b2: Any, mask: Any, sizes: Any,
               opts: AccumulationOptions) -> Callable[[], tuple[Any, ...]]:  # fmt: skip
    """Setup: the modules; timed: zero_grad(set_to_none=True) and K backward calls."""
    n = check(x, y, w1, b1, w2, b2, mask, sizes, opts)
    lin1, lin2 = _linear(w1, b1), _linear(w2, b2)
    norm: nn.Module = nn.Identity()
    if opts.batchnorm:
        norm = nn.BatchNorm1d(w1.shape[1], eps=BN_EPS, affine=False,
                              track_running_stats=False, dtype=x.dtype)  # fmt: skip
    model = nn.ModuleList([lin1, norm, lin2]).train()
    parts = list(zip(torch.split(x, n), torch.split(y, n), torch.split(mask, n), strict=True))
    scale = [nk / sum(n) if opts.scaling == "size" else 1.0 / len(n) for nk in n]

    def run() -> tuple[Any, ...]:
        model.zero_grad(set_to_none=True)
        for (xs, ys, ms), c in zip(parts, scale, strict=True):
            out = lin2(torch.relu(norm(lin1(xs))) * ms)
            loss = c * 0.5 * ((out - ys) ** 2).sum(dim=1).mean()
            loss.backward()
        grads = [p.grad if p.grad is not None else torch.zeros_like(p)
                 for p in (lin1.weight, lin1.bias, lin2.weight, lin2.bias)]  # fmt: skip
        return grads[0].T, grads[1], grads[2].T, grads[3]

    return run
