"""relu_forward_backward in pure Python: nested lists walked recursively, one comparison per
value (forward), one per pair of x and g (backward)."""

from __future__ import annotations

from typing import Any

from harness import implementation
from suites.relu_forward_backward import (
    ARGS,
    ReluBackwardOptions,
    ReluOptions,
    check_backward,
)

CAP = 2e6  # elements: the size cap of both modes (1 flop and 2 flops per element)


def _forward(x: Any, keep_nan: bool) -> Any:
    if isinstance(x, list):
        return [_forward(v, keep_nan) for v in x]
    if x > 0 or (keep_nan and x != x):
        return x
    return type(x)(0)


def _backward(x: Any, g: Any, at_zero: bool) -> Any:
    if isinstance(x, list):
        return [_backward(a, b, at_zero) for a, b in zip(x, g, strict=True)]
    return 0.0 if x < 0 or (x == 0 and not at_zero) else g  # NaN x: g, as torch


@implementation("relu_forward_backward", "python", "loops", max_flops=CAP)
def relu(x: Any, opts: ReluOptions) -> Any:
    """A comprehension per innermost list."""
    ARGS.check(x)
    return _forward(x, opts.nan == "propagate")


@implementation("relu_forward_backward.backward", "python", "loops", max_flops=2 * CAP)
def relu_backward(x: Any, g: Any, opts: ReluBackwardOptions) -> Any:
    """0.0 where x <= 0 (or < 0), else g."""
    check_backward(x, g)
    return _backward(x, g, opts.grad_at_zero == "one")
