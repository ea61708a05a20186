"""adam_adamw in Numba: one compiled loop per parameter and step that reads p, g, m, v (and
v_max) once and writes them back once, in the parameters' dtype (scalars cast to it first).

The steps run in order, one sweep over all parameters per step, as in training.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.adam_adamw import AdamOptions, check, coefficients


@numba.njit(cache=False, error_model="numpy")
def _step(p: Any, g: Any, m: Any, v: Any, v_max: Any, sign: Any, decay: Any, wd: Any,
    b1: Any, c1: Any, b2: Any, c2: Any, step_size: Any, eps_hat: Any,
    amsgrad: bool) -> None:  # fmt: skip  # pragma: no cover - compiled
    for j in range(p.size):
        pj = p[j] * decay  # decay = 1 - lr*wd for AdamW, else 1
        gj = sign * g[j]
        if wd != 0:  # Adam's coupled decay (0 for AdamW): skipped, not 0*p, when off
            gj += wd * pj
        mj = b1 * m[j] + c1 * gj
        vj = b2 * v[j] + c2 * (gj * gj)
        m[j] = mj
        v[j] = vj
        if amsgrad:
            if vj > v_max[j] or vj != vj:  # NaN wins, as np.maximum
                v_max[j] = vj
            vj = v_max[j]
        p[j] = pj - step_size * mj / (np.sqrt(vj) + eps_hat)


@implementation("adam_adamw", "numba", "fused")
def adam(params: Any, grads: Any, lrs: Any, exp_avg: Any, exp_avg_sq: Any,
    max_exp_avg_sq: Any, step: Any, opts: AdamOptions) -> None:  # fmt: skip
    """A fused loop per parameter and step: 7 array reads and writes per element and step."""
    steps = check(params, grads, lrs, exp_avg, exp_avg_sq, max_exp_avg_sq, step)
    # 1-D views (copies of a non-contiguous array, written back at the end)
    state = [[x.reshape(-1) for x in xs] for xs in (params, exp_avg, exp_avg_sq, max_exp_avg_sq)]
    wd, decoupled = opts.weight_decay, opts.decoupled and opts.weight_decay != 0
    for k in range(steps):
        lr = float(lrs[k])
        for i, (p, m, v, v_max) in enumerate(zip(*state, strict=True)):
            f = p.dtype.type
            step_size, eps_hat = coefficients(int(step[i]) + k + 1, lr, opts)
            g = grads[i][k].reshape(-1)
            _step(
                p,
                g,
                m,
                v,
                v_max,
                f(-1.0 if opts.maximize else 1.0),
                f(1.0 - lr * wd if decoupled else 1.0),
                f(0.0 if opts.decoupled else wd),
                f(opts.beta1),
                f(1.0 - opts.beta1),
                f(opts.beta2),
                f(1.0 - opts.beta2),
                f(step_size),
                f(eps_hat),
                opts.amsgrad,
            )
    for xs, flats in zip((params, exp_avg, exp_avg_sq, max_exp_avg_sq), state, strict=True):
        for x, flat in zip(xs, flats, strict=True):
            if not np.shares_memory(x, flat) and x.size:
                x[...] = flat.reshape(x.shape)
    step += steps
