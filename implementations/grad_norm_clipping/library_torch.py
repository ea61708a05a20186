"""grad_norm_clipping through torch.nn.utils: get_total_norm for the norm, then
clip_grads_with_norm_ (clip_grad_norm_'s second half) or clip_grad_value_. Each present
gradient is attached as .grad of a stand-in parameter (a stride-0 view, no storage) so torch
writes into the caller's tensors."""

from __future__ import annotations

from typing import Any

import torch
from torch.nn.utils import clip_grad_value_, clip_grads_with_norm_, get_total_norm

from harness import implementation
from suites.grad_norm_clipping import ClipOptions, check


def _run(grads: Any, has_grad: Any, threshold: Any, opts: ClipOptions, foreach: bool) -> Any:
    check(grads, has_grad, threshold)
    t = float(threshold)
    present = [g for g, h in zip(grads, has_grad.tolist(), strict=True) if h]
    params = []
    for g in present:
        p = torch.nn.Parameter(g.new_empty(()).expand(g.shape), requires_grad=True)
        p.grad = g
        params.append(p)
    total = get_total_norm(present, opts.norm_type, opts.error_if_nonfinite, foreach)
    if opts.mode == "value":
        clip_grad_value_(params, t, foreach=foreach)
    elif params:
        clip_grads_with_norm_(params, t, total, foreach=foreach)
    return total


SUPPORTS = {"eps": (1e-6,)}


@implementation(
    "grad_norm_clipping", "library", "torch", arrays="torch_cpu", requires=("torch",),
    supports=SUPPORTS,
)  # fmt: skip
def clip(grads: Any, has_grad: Any, threshold: Any, opts: ClipOptions) -> Any:
    """torch.nn.utils with foreach=False: one norm and one mul_ per tensor (torch's CPU path)."""
    return _run(grads, has_grad, threshold, opts, foreach=False)


@implementation(
    "grad_norm_clipping", "library", "torch_foreach", arrays="torch_cpu", requires=("torch",),
    supports=SUPPORTS,
)  # fmt: skip
def clip_foreach(grads: Any, has_grad: Any, threshold: Any, opts: ClipOptions) -> Any:
    """torch.nn.utils with foreach=True: _foreach_norm and _foreach_mul_ (torch's CUDA path)."""
    return _run(grads, has_grad, threshold, opts, foreach=True)
