"""rmsprop in CuPy, fused across the steps: one ElementwiseKernel per parameter in which each
thread keeps its value's p, v, gbar and buf in registers through all T steps, reading that
value's gradient of every step (coalesced across the threads of a step). The state is read
and written once per call; each value takes the steps in order, so stopping and resuming
gives the same bits."""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.rmsprop import RmspropOptions, check, group_options

_FUSED = cp.ElementwiseKernel(
    "raw T g, raw T lrs, int64 steps, int64 n, T sign, T wd, T a, T c, T eps, T mu, "
    "bool centered, bool momentum, bool tf1",
    "T p, T v, T gbar, T buf",
    """
    T pi = p, vi = v, mi = gbar, bi = buf;
    for (long long k = 0; k < steps; ++k) {
        T gj = sign * g[k * n + i];
        if (wd != (T)0) gj += wd * pi;
        vi = a * vi + c * (gj * gj);
        T var = vi;
        if (centered) {
            mi = a * mi + c * gj;
            var = vi - mi * mi;
        }
        T d = tf1 ? sqrt(var + eps) : sqrt(var) + eps;
        if (momentum) {
            bi = mu * bi + (tf1 ? lrs[k] * gj / d : gj / d);
            pi -= tf1 ? bi : lrs[k] * bi;
        } else {
            pi -= lrs[k] * gj / d;
        }
    }
    p = pi;
    v = vi;
    gbar = mi;
    buf = bi;
    """,
    "opshootout_rmsprop_fused",
)


@implementation("rmsprop", "cupy", "fused")
def rmsprop(params: Any, grads: Any, lrs: Any, square_avg: Any, grad_avg: Any,
    momentum_buffer: Any, step: Any, group: Any, hyper: Any, centered: Any,
    opts: RmspropOptions) -> None:  # fmt: skip
    """One kernel launch per parameter with its group's settings; scalars and lrs in the
    parameters' dtype."""
    steps = check(params, grads, lrs, square_avg, grad_avg, momentum_buffer, step, group,
                  hyper, centered)  # fmt: skip
    settings, groups = group_options(opts, hyper, centered), group.tolist()
    for i, p in enumerate(params):
        if p.size == 0 or steps == 0:
            continue
        f, j = p.dtype.type, groups[i]
        o = settings[j]
        _FUSED(
            cp.ascontiguousarray(grads[i]).reshape(-1),
            cp.ascontiguousarray(lrs[:, j], dtype=p.dtype),
            steps,
            p.size,
            f(-1.0 if o.maximize else 1.0),
            f(o.weight_decay),
            f(o.alpha),
            f(1.0 - o.alpha),
            f(o.eps),
            f(o.momentum),
            o.centered,
            o.momentum > 0,
            o.convention == "tf1",
            p,
            square_avg[i],
            grad_avg[i],
            momentum_buffer[i],
        )
    step += steps
