"""softmax_stable_and_gradients in pure Python: per slice, a max pass, an exp-and-sum pass and
a scale pass over plain floats; the backward keeps the forward's probabilities from setup.

Slices along axis 0 are the columns, gathered once with zip(*x).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from harness import implementation
from suites.softmax_stable_and_gradients import SoftmaxOptions, check_backward, check_forward

Rows = list[list[float]]
_CAP = 5.0 * 64 * 1024  # about 65k elements: ~0.1 s of loops


def _slices(x: Any, axis: int) -> Rows:
    rows = [[float(v) for v in row] for row in x]
    return [list(col) for col in zip(*rows, strict=True)] if axis == 0 and rows else rows


def _restore(rows: Rows, axis: int, n_rows: int) -> Rows:
    if axis == 1:
        return rows
    return [list(r) for r in zip(*rows, strict=True)] if rows else [[] for _ in range(n_rows)]


def _row(z: list[float], log: bool, fill: float) -> tuple[list[float], list[float]]:
    """(output, probabilities) of one slice; the probabilities feed the backward."""
    nan = [math.nan] * len(z)
    top = max((v for v in z if v == v), default=-math.inf)
    if any(v != v for v in z) or top == math.inf:  # NaN, or +inf: inf - inf spoils the sum
        return nan, nan
    if top == -math.inf:  # every entry -inf (an empty slice has nothing to fill)
        return [fill] * len(z), nan
    e = [math.exp(v - top) for v in z]  # arguments <= 0: no overflow; -inf gives 0
    total = math.fsum(e)  # >= 1 (the max contributes exp(0))
    if log:
        lse = math.log(total)
        return [(v - top) - lse for v in z], [v / total for v in e]
    s = [v / total for v in e]
    return s, s


def _forward(x: Any, axis: int, opts: SoftmaxOptions) -> tuple[Rows, Rows]:
    fill = math.nan if opts.all_neg_inf == "nan" else 0.0
    pairs = [_row(z, opts.function == "log_softmax", fill) for z in _slices(x, axis)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


@implementation(
    "softmax_stable_and_gradients",
    "python",
    "loops",
    max_flops=_CAP,
    supports={"function": ("softmax", "log_softmax")},
)
def softmax(x: Any, opts: SoftmaxOptions) -> Rows:
    """Max, exp-and-fsum, scale: three loops per slice on floats."""
    _, axis = check_forward(x, opts)
    out, _ = _forward(x, axis, opts)
    return _restore(out, axis, len(x))


def _vjp_row(s: list[float], g: list[float], log: bool, dead: bool, fill: float) -> list[float]:
    if dead:
        return [fill] * len(s)
    if log:  # g - s·Σg
        total = math.fsum(g)
        return [gi - si * total for si, gi in zip(s, g, strict=True)]
    c = math.fsum(si * gi for si, gi in zip(s, g, strict=True))  # <g, s>; NaN stays NaN
    return [si * (gi - c) for si, gi in zip(s, g, strict=True)]


@implementation(
    "softmax_stable_and_gradients.backward",
    "python",
    "loops",
    max_flops=_CAP,
    prepare=True,
    supports={"function": ("softmax", "log_softmax")},
    expected_failures={
        "g_other_dtype": "plain lists carry no dtype: a float64 g beside a float32 x is "
        "indistinguishable from a float32 one"
    },
)
def softmax_backward(x: Any, g: Any, opts: SoftmaxOptions) -> Callable[[], Rows]:
    """Setup: the forward's probabilities; timed: one dot (fsum) and one scale per slice."""
    _, axis = check_backward(x, g, opts)
    zs = _slices(x, axis)
    _, probs = _forward(x, axis, SoftmaxOptions(function="softmax", all_neg_inf="nan"))
    dead = [bool(z) and all(v == -math.inf for v in z) for z in zs]
    fill = math.nan if opts.all_neg_inf == "nan" else 0.0
    log = opts.function == "log_softmax"

    def vjp() -> Rows:
        gs = _slices(g, axis)
        rows = [_vjp_row(s, gz, log, d, fill) for s, gz, d in zip(probs, gs, dead, strict=True)]
        return _restore(rows, axis, len(x))

    return vjp
