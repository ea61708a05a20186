"""sgd_momentum in Numba, fused across the steps: each block of 2,048 elements of a parameter
keeps its values and buffer in L1 while all T steps stream their gradients through it, so the
state is read and written once per call instead of once per step. Every element still takes
the steps in order with the same operations, so stopping and resuming changes no bit.

The per-step loop runs over a block slice from index 0 (Numba then drops its negative-index
checks) with the branches hoisted out of it, which is what lets LLVM vectorise it. The blocks
run serially: the benchmark runs one thread, and a prange over them (parallel=True) doubles
the compile time and costs a thread wake-up per parameter on the many small ones.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.sgd_momentum import SgdOptions, check_sgd

BLOCK = 2048


@numba.njit(cache=False)
def _step(
    p: Any,
    buf: Any,
    g: Any,
    lr: Any,
    first: bool,
    mu: Any,
    keep: Any,
    wd: Any,
    nesterov: bool,
    sign: Any,
) -> None:  # pragma: no cover - compiled
    """One step on one block; ``w`` is loaded unconditionally so the decay is a select."""
    if mu == 0:
        for j in range(p.shape[0]):
            w = p[j]
            d = g[j] * sign
            if wd != 0:
                d = d + wd * w
            p[j] = w - lr * d
    elif first:  # torch: no buffer yet -> buf <- g, undamped
        for j in range(p.shape[0]):
            w = p[j]
            d = g[j] * sign
            if wd != 0:
                d = d + wd * w
            buf[j] = d
            p[j] = w - lr * (d + mu * d if nesterov else d)
    elif nesterov:
        for j in range(p.shape[0]):
            w = p[j]
            d = g[j] * sign
            if wd != 0:
                d = d + wd * w
            b = mu * buf[j] + keep * d
            buf[j] = b
            p[j] = w - lr * (d + mu * b)
    else:
        for j in range(p.shape[0]):
            w = p[j]
            d = g[j] * sign
            if wd != 0:
                d = d + wd * w
            b = mu * buf[j] + keep * d
            buf[j] = b
            p[j] = w - lr * b


@numba.njit(cache=False)
def _kernel(
    p: Any,
    buf: Any,
    g: Any,
    active: Any,
    lrs: Any,
    started: bool,
    mu: Any,
    keep: Any,
    wd: Any,
    nesterov: bool,
    sign: Any,
) -> None:  # pragma: no cover - compiled
    n = p.shape[0]
    for lo in range(0, n, BLOCK):
        hi = min(lo + BLOCK, n)
        first = not started
        for t in range(g.shape[0]):
            if active[t]:
                gt = g[t, lo:hi]
                _step(p[lo:hi], buf[lo:hi], gt, lrs[t], first, mu, keep, wd, nesterov, sign)
                first = False


@implementation("sgd_momentum", "numba", "fused")
def sgd(params: Any, grads: Any, has_grad: Any, lrs: Any, momentum_buffers: Any,
    steps_done: Any, opts: SgdOptions) -> None:  # fmt: skip
    """One kernel call per parameter: blocks outside, steps inside, in the params' dtype."""
    t, n = check_sgd(params, grads, has_grad, lrs, momentum_buffers, steps_done)
    for i in range(n):
        p, buf = params[i], momentum_buffers[i]
        if p.size == 0 or t == 0:
            continue
        real = p.dtype.type  # coefficients and lrs rounded to the arithmetic's dtype (as torch)
        contiguous = p.flags.c_contiguous and buf.flags.c_contiguous
        flat_p, flat_b = (
            (p.reshape(-1), buf.reshape(-1)) if contiguous else (p.ravel(), buf.ravel())
        )
        _kernel(
            flat_p,
            flat_b,
            np.ascontiguousarray(grads[i]).reshape(t, -1),
            np.ascontiguousarray(has_grad[:, i]),
            lrs.astype(p.dtype),
            bool(steps_done[i] > 0),
            real(opts.momentum),
            real(1 - opts.dampening),
            real(opts.weight_decay),
            opts.nesterov,
            real(-1.0 if opts.maximize else 1.0),
        )
        if not contiguous:  # worked on copies: write them back
            p[...], buf[...] = flat_p.reshape(p.shape), flat_b.reshape(buf.shape)
    steps_done += has_grad.sum(axis=0)
