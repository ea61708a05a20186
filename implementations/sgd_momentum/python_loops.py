"""sgd_momentum in pure Python: each parameter and its buffer are flattened once into plain
lists of floats, every step is one or two comprehensions over them (the gradient of the step
flattened the same way), and the final values are written back into the nested lists' rows;
a 0-d parameter (a bare float) is rebound in its list."""

from __future__ import annotations

from typing import Any

from harness import implementation
from suites.sgd_momentum import SgdOptions, check_sgd


def _rows(x: list[Any]) -> list[list[Any]]:
    """The innermost lists of a nested list, in order: one comprehension per level."""
    rows = [x]
    while rows and rows[0] and isinstance(rows[0][0], list):
        rows = [row for outer in rows for row in outer]
    return rows


def _flat(x: Any) -> list[float]:
    """The values of a nested list (or of a bare float), in order."""
    if not isinstance(x, list):
        return [x]
    values: list[float] = x
    while values and isinstance(values[0], list):
        values = [v for item in values for v in item]
    return values


def _write_back(x: list[Any], values: list[float]) -> None:
    pos = 0
    for row in _rows(x):
        row[:] = values[pos : pos + len(row)]
        pos += len(row)


@implementation(
    "sgd_momentum",
    "python",
    "loops",
    max_flops=1e6,  # bench_py (9.3e4 flops): ~25 ms
    expected_failures={"grads_other_dtype": "plain lists carry no dtype to disagree on"},
)
def sgd(params: Any, grads: Any, has_grad: Any, lrs: Any, momentum_buffers: Any,
    steps_done: Any, opts: SgdOptions) -> None:  # fmt: skip
    """Flat comprehensions per step, then one write-back per parameter."""
    t, n = check_sgd(params, grads, has_grad, lrs, momentum_buffers, steps_done)
    mu, keep, wd = opts.momentum, 1 - opts.dampening, opts.weight_decay
    for i in range(n):
        p, buf = _flat(params[i]), _flat(momentum_buffers[i])
        for step in range(t):
            if not has_grad[step][i]:
                continue
            g = _flat(grads[i][step])
            if opts.maximize:
                g = [-v for v in g]
            if wd != 0:
                g = [v + wd * w for v, w in zip(g, p, strict=True)]
            if mu != 0:
                if steps_done[i] == 0:
                    buf = g
                else:
                    buf = [mu * b + keep * v for b, v in zip(buf, g, strict=True)]
                g = [v + mu * b for v, b in zip(g, buf, strict=True)] if opts.nesterov else buf
            lr = lrs[step]
            p = [w - lr * v for w, v in zip(p, g, strict=True)]
            steps_done[i] += 1
        if isinstance(params[i], list):
            _write_back(params[i], p)
            _write_back(momentum_buffers[i], buf)
        else:
            params[i], momentum_buffers[i] = p[0], buf[0]
