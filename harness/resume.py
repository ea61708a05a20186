"""Trajectory properties of stateful algorithms: stopping and resuming changes nothing.

A suite that declares ``steps`` (inputs stacked one entry per step along their first axis:
gradients, learning rates) and ``state`` (what the implementation updates in place) gets
one more check on every passing cell: run the first half of the steps, save the state, run
the second half from it, and compare with the uninterrupted run bit for bit. An optimizer
that keeps a hidden step counter, re-initialises its buffers on entry or applies bias
correction from the wrong step fails here even when each single run looks right.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.backends import BACKENDS
from harness.cases import Case
from harness.prepare import case_inputs
from harness.registry import Implementation
from harness.spec import Suite


def _run(suite: Suite, impl: Implementation, inputs: dict[str, Any], case: Case) -> dict[str, Any]:
    """Call the implementation on fresh copies; return the state it leaves, in NumPy."""
    assert impl.fn is not None
    backend = BACKENDS[impl.arrays]
    args = [backend.native(v) for v in inputs.values()]
    out = impl.fn(*suite.call_args(args, case))
    if impl.prepare:
        out()
    names = list(inputs)
    return {n: backend.host(args[names.index(n)]) for n in suite.state}


def _part(value: Any, steps: slice) -> Any:
    """These steps of a stacked input (each array of a list input)."""
    if isinstance(value, list):
        return [v[steps] for v in value]
    return value[steps]


def _same(a: Any, b: Any) -> bool:
    if isinstance(b, list):
        return isinstance(a, list) and len(a) == len(b) and all(map(_same, a, b))
    a, b = np.asarray(a), np.asarray(b)
    return bool(a.shape == b.shape and np.array_equal(a, b, equal_nan=True))


def check_resume(suite: Suite, impl: Implementation, case: Case, actual: Any) -> str:
    """'' when resuming after half the steps gives the uninterrupted state, else why not."""
    inputs = dict(case_inputs(suite, case))
    stacked = inputs[suite.steps[0]]
    total = len(stacked[0] if isinstance(stacked, list) and stacked else stacked)
    if total < 2:
        return ""
    k = total // 2
    first = {n: (_part(v, slice(0, k)) if n in suite.steps else v) for n, v in inputs.items()}
    saved = _run(suite, impl, first, case)
    second = {
        n: _part(v, slice(k, None)) if n in suite.steps else saved.get(n, v)
        for n, v in inputs.items()
    }
    resumed = _run(suite, impl, second, case)
    values = actual if isinstance(actual, tuple) else (actual,)
    full = dict(zip(suite.outputs, values, strict=True))
    differ = [n for n in suite.state if n in full and not _same(resumed[n], full[n])]
    if differ:
        return (
            f"stopping after {k} of {total} steps and resuming from the saved state gives a "
            f"different {', '.join(differ)} than running all {total} steps (it must match "
            "bit for bit: is some state kept outside the declared inputs?)"
        )
    return ""
