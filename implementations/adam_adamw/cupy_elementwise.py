"""adam_adamw in CuPy: one fused ElementwiseKernel per parameter and step, reading p, g, m, v
(and v_max) once and writing them in place, in the parameters' dtype.
"""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.adam_adamw import AdamOptions, check, coefficients

# The outputs are the state arrays themselves (passed in, read and written in place).
_STEP = cp.ElementwiseKernel(
    "T g, T sign, T decay, T wd, T b1, T c1, T b2, T c2, T step_size, T eps_hat, int32 amsgrad",
    "T p, T m, T v, T v_max",
    """
    T pj = p * decay;
    T gj = sign * g;
    if (wd != (T)0) gj += wd * pj;
    T mj = b1 * m + c1 * gj;
    T vj = b2 * v + c2 * (gj * gj);
    m = mj;
    v = vj;
    if (amsgrad) {
        if (vj > v_max || vj != vj) v_max = vj;
        vj = v_max;
    }
    p = pj - step_size * mj / (sqrt(vj) + eps_hat);
    """,
    "opshootout_adam_step",
)


@implementation("adam_adamw", "cupy", "elementwise")
def adam(params: Any, grads: Any, lrs: Any, exp_avg: Any, exp_avg_sq: Any,
    max_exp_avg_sq: Any, step: Any, opts: AdamOptions) -> None:  # fmt: skip
    """One kernel launch per parameter and step; the scalars are computed on the host."""
    steps = check(params, grads, lrs, exp_avg, exp_avg_sq, max_exp_avg_sq, step)
    starts, rates = step.tolist(), lrs.tolist()  # one copy to the host, not one per step
    wd, sign = opts.weight_decay, -1.0 if opts.maximize else 1.0
    for k in range(steps):
        decay = 1.0 - rates[k] * wd if opts.decoupled else 1.0
        for i, p in enumerate(params):
            if p.size == 0:
                continue
            f = p.dtype.type
            step_size, eps_hat = coefficients(starts[i] + k + 1, rates[k], opts)
            _STEP(
                grads[i][k],
                f(sign),
                f(decay),
                f(0.0 if opts.decoupled else wd),
                f(opts.beta1),
                f(1.0 - opts.beta1),
                f(opts.beta2),
                f(1.0 - opts.beta2),
                f(step_size),
                f(eps_hat),
                cp.int32(opts.amsgrad),
                p,
                exp_avg[i],
                exp_avg_sq[i],
                max_exp_avg_sq[i],
            )
    step += steps
