"""sgd_momentum in CuPy, fused across the steps: one ElementwiseKernel per parameter in which
each thread keeps its element's value and buffer in registers through all T steps, reading
that element's gradient of every step (coalesced across the threads of a step). The state
is read and written once per call; each element takes the steps in order, so stopping and
resuming gives the same bits."""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.sgd_momentum import SgdOptions, check_sgd

_fused = cp.ElementwiseKernel(
    "raw T g, raw bool active, raw T lrs, int64 steps, int64 n, bool started, "
    "T mu, T keep, T wd, bool nesterov, T sign",
    "T p, T buf",
    """
    bool first = !started;
    T pi = p;
    T bi = buf;
    for (long long t = 0; t < steps; ++t) {
        if (!active[t]) continue;
        T d = g[t * n + i] * sign;
        if (wd != (T)0) d = d + wd * pi;
        if (mu != (T)0) {
            bi = first ? d : mu * bi + keep * d;
            d = nesterov ? d + mu * bi : bi;
        }
        pi = pi - lrs[t] * d;
        first = false;
    }
    p = pi;
    buf = bi;
    """,
    "sgd_momentum_fused",
)


@implementation("sgd_momentum", "cupy", "fused")
def sgd(params: Any, grads: Any, has_grad: Any, lrs: Any, momentum_buffers: Any,
    steps_done: Any, opts: SgdOptions) -> None:  # fmt: skip
    """One kernel launch per parameter; coefficients and lrs in the params' dtype."""
    t, n = check_sgd(params, grads, has_grad, lrs, momentum_buffers, steps_done)
    started = steps_done.get() > 0
    for i in range(n):
        p, buf = params[i], momentum_buffers[i]
        if p.size == 0 or t == 0:
            continue
        real = p.dtype.type
        flat_p, flat_b = p.reshape(-1), buf.reshape(-1)  # views: the harness's are contiguous
        if not (p.flags.c_contiguous and buf.flags.c_contiguous):
            flat_p, flat_b = p.flatten(), buf.flatten()  # copies, written back below
        _fused(
            cp.ascontiguousarray(grads[i]).reshape(-1),
            cp.ascontiguousarray(has_grad[:, i]),
            lrs.astype(p.dtype),
            t,
            flat_p.size,
            bool(started[i]),
            real(opts.momentum),
            real(1 - opts.dampening),
            real(opts.weight_decay),
            opts.nesterov,
            real(-1.0 if opts.maximize else 1.0),
            flat_p,
            flat_b,
        )
        if not (p.flags.c_contiguous and buf.flags.c_contiguous):
            p[...], buf[...] = flat_p.reshape(p.shape), flat_b.reshape(buf.shape)
    steps_done += has_grad.sum(axis=0)
