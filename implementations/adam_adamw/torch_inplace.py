"""adam_adamw in torch, any device: in-place ops (lerp_, addcmul_, addcdiv_) into two
preallocated scratch buffers, so no step allocates; about 7 passes per step.

On the CPU each parameter goes through 1 MB chunks (its p, g, m, v and the scratch stay in
L3 between the passes); on a GPU a parameter is one chunk (the passes are launches there).
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.adam_adamw import AdamOptions, check, coefficients

CHUNK_BYTES = 1 << 20


def _update(p: Any, g: Any, m: Any, v: Any, v_max: Any, opts: AdamOptions, lr: float,
    step_size: float, eps_hat: float, a: Any, b: Any) -> None:  # fmt: skip
    """One step on one chunk; a and b are scratch buffers of the chunk's length."""
    wd = opts.weight_decay
    if wd and opts.decoupled:
        p.mul_(1.0 - lr * wd)
    if wd and not opts.decoupled:  # g' = wd*p -/+ g
        torch.mul(p, wd, out=a)
        g = a.add_(g, alpha=-1.0 if opts.maximize else 1.0)
    elif opts.maximize:
        g = torch.neg(g, out=a)
    m.lerp_(g, 1.0 - opts.beta1)
    v.mul_(opts.beta2).addcmul_(g, g, value=1.0 - opts.beta2)
    if opts.amsgrad:
        torch.maximum(v_max, v, out=v_max)
    torch.sqrt(v_max if opts.amsgrad else v, out=b).add_(eps_hat)
    p.addcdiv_(m, b, value=-step_size)


@implementation("adam_adamw", ("torch_cpu", "torch_cuda"), "inplace")
def adam(params: Any, grads: Any, lrs: Any, exp_avg: Any, exp_avg_sq: Any,
    max_exp_avg_sq: Any, step: Any, opts: AdamOptions) -> None:  # fmt: skip
    """Per step and parameter: lerp_, mul_/addcmul_, sqrt into scratch, addcdiv_."""
    steps = check(params, grads, lrs, exp_avg, exp_avg_sq, max_exp_avg_sq, step)
    flats = [[x.view(-1) for x in xs] for xs in (params, exp_avg, exp_avg_sq, max_exp_avg_sq)]
    starts, rates = step.tolist(), lrs.tolist()  # one device sync, not one per step
    scratch: dict[Any, tuple[Any, Any]] = {}
    for k in range(steps):
        for i, (p, m, v, v_max) in enumerate(zip(*flats, strict=True)):
            step_size, eps_hat = coefficients(starts[i] + k + 1, rates[k], opts)
            g = grads[i][k].view(-1)
            on_cpu = p.device.type == "cpu"
            chunk = max(CHUNK_BYTES // p.element_size() if on_cpu else p.numel(), 1)
            key = (p.dtype, p.device)
            if key not in scratch or scratch[key][0].numel() < chunk:
                scratch[key] = (p.new_empty(chunk), p.new_empty(chunk))
            a, b = scratch[key]
            for s in range(0, p.numel(), chunk):
                e = min(s + chunk, p.numel())
                _update(
                    p[s:e],
                    g[s:e],
                    m[s:e],
                    v[s:e],
                    v_max[s:e],
                    opts,
                    rates[k],
                    step_size,
                    eps_hat,
                    a[: e - s],
                    b[: e - s],
                )
    step += steps
