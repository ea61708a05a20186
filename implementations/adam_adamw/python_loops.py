"""adam_adamw in pure Python: each parameter flattened to a list once, the steps applied
element by element, the results written back into the caller's nested lists in place.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from harness import implementation
from suites.adam_adamw import AdamOptions, check, coefficients


def _flat(x: Any) -> list[float]:
    return [v for item in x for v in _flat(item)] if isinstance(x, list) else [x]


def _write(xs: list[Any], i: int, values: Iterator[float]) -> None:
    """Overwrite xs[i] (a number, or nested lists of them) in place, in order."""
    if isinstance(xs[i], list):
        for j in range(len(xs[i])):
            _write(xs[i], j, values)
    else:
        xs[i] = next(values)


def _div(a: float, b: float) -> float:
    """a / b with IEEE results for b = 0 (Python raises): NaN for 0/0, signed inf."""
    if b:
        return a / b
    return math.nan if a == 0 or a != a else math.copysign(math.inf, a)


# Plain lists carry no dtype and cannot be told from "not a list" (an array converts to
# nested lists): those error cases cannot fail here. The harness reads a list of equal-shaped
# lists (here empty ones) back from the python world as one array, unlike its snapshot (a
# list), and so reports the untouched grads as written.
_NO_DTYPE = "plain Python lists carry no dtype to compare"


@implementation(
    "adam_adamw",
    "python",
    "loops",
    max_flops=1.5e6,  # long_run_f32, ~0.2 s
    expected_failures={
        "float32_grads_on_float64_params": _NO_DTYPE,
        "float32_state_on_float64_params": _NO_DTYPE,
    },
)
def adam(params: Any, grads: Any, lrs: Any, exp_avg: Any, exp_avg_sq: Any,
    max_exp_avg_sq: Any, step: Any, opts: AdamOptions) -> None:  # fmt: skip
    """Flat lists per parameter; one loop over the elements per step and parameter."""
    steps = check(params, grads, lrs, exp_avg, exp_avg_sq, max_exp_avg_sq, step)
    lists = (params, exp_avg, exp_avg_sq, max_exp_avg_sq)
    flats = [[_flat(x) for x in xs] for xs in lists]
    b1, b2, wd = opts.beta1, opts.beta2, opts.weight_decay
    sign = -1.0 if opts.maximize else 1.0
    for k in range(steps):
        lr = lrs[k]
        decay = 1.0 - lr * wd if opts.decoupled else 1.0
        coupled = 0.0 if opts.decoupled else wd
        for i, (p, m, v, v_max) in enumerate(zip(*flats, strict=True)):
            step_size, eps_hat = coefficients(step[i] + k + 1, lr, opts)
            g = _flat(grads[i][k])
            for j in range(len(p)):
                pj = p[j] * decay
                gj = sign * g[j]
                if coupled:
                    gj += coupled * pj
                mj = b1 * m[j] + (1.0 - b1) * gj
                vj = b2 * v[j] + (1.0 - b2) * gj * gj
                m[j], v[j] = mj, vj
                if opts.amsgrad:
                    if vj > v_max[j] or vj != vj:
                        v_max[j] = vj
                    vj = v_max[j]
                p[j] = pj - step_size * _div(mj, math.sqrt(vj) + eps_hat)
    for xs, fs in zip(lists, flats, strict=True):
        for i, flat in enumerate(fs):
            _write(xs, i, iter(flat))
    for i in range(len(step)):
        step[i] += steps
