"""flops_params_count in pure Python: a dispatch table from layer kind to a small function
returning (multiply-adds, elementwise ops, parameters) of one row, exact Python integers,
one pass over the rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from harness import implementation
from suites.flops_params_count import CountOptions, check

Row = tuple[int, ...]


def _out(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _conv(r: Row) -> tuple[int, int, int]:
    _, n, ci, h, w, co, kh, kw, s, p, d, g, b = r
    outs = n * co * _out(h, kh, s, p, d) * _out(w, kw, s, p, d)
    taps = ci // g * kh * kw
    return outs * taps, b * outs, co * taps + b * co


def _deform(r: Row) -> tuple[int, int, int]:
    """The conv plus one bilinear sample per (input channel, tap, output pixel): 4 corner
    multiply-adds each."""
    macs, other, params = _conv(r)
    _, n, ci, h, w, _, kh, kw, s, p, d, *_ = r
    samples = n * ci * kh * kw * _out(h, kh, s, p, d) * _out(w, kw, s, p, d)
    return macs + 4 * samples, other, params


def _norm(r: Row) -> tuple[int, int, int]:
    """GroupNorm / LayerNorm / InstanceNorm: statistics and normalisation per element,
    a weight and a bias over the channels with affine."""
    _, n, c, h, w, *_, b = r
    return 0, (5 + 2 * b) * n * c * h * w, 2 * c * b


def _lstm(r: Row) -> tuple[int, int, int]:
    """Four gates, each an (I + H) -> H product per step; b_ih and b_hh both count."""
    _, n, i, h, w, hidden, *_, b = r
    steps, gates = n * h * w, 4 * hidden
    return steps * gates * (i + hidden), (13 + 8 * b) * steps * hidden, gates * (i + hidden + 2 * b)


def _conv_t(r: Row) -> tuple[int, int, int]:
    _, n, ci, h, w, co, kh, kw, s, p, d, g, b = r
    ho, wo = (h - 1) * s - 2 * p + d * (kh - 1) + 1, (w - 1) * s - 2 * p + d * (kw - 1) + 1
    taps = co // g * kh * kw
    return n * h * w * ci * taps, b * n * co * ho * wo, ci * taps + b * co


def _linear(r: Row) -> tuple[int, int, int]:
    _, n, ci, h, w, co, *_, b = r
    return n * h * w * ci * co, b * n * h * w * co, (ci + b) * co


def _bmm(r: Row) -> tuple[int, int, int]:
    _, n, ci, h, w, co, *_ = r
    return n * h * w * ci * co, 0, 0


def _batchnorm(r: Row) -> tuple[int, int, int]:
    _, n, c, h, w, *_, b = r
    return 0, 2 * n * c * h * w, 2 * c * b


def _elementwise(per: int) -> Callable[[Row], tuple[int, int, int]]:
    """ReLU 1, sigmoid 3, softmax 4, a binary elementwise op 1 per element; no parameters."""

    def count(r: Row) -> tuple[int, int, int]:
        _, n, c, h, w, *_ = r
        return 0, per * n * c * h * w, 0

    return count


def _pool(per_window: Callable[[int], int]) -> Callable[[Row], tuple[int, int, int]]:
    def count(r: Row) -> tuple[int, int, int]:
        _, n, c, h, w, _, kh, kw, s, p, d, *_ = r
        return 0, per_window(kh * kw) * n * c * _out(h, kh, s, p, d) * _out(w, kw, s, p, d), 0

    return count


_COUNT: dict[int, Callable[[Row], tuple[int, int, int]]] = {
    0: _conv, 1: _linear, 2: _conv_t, 3: _batchnorm, 4: _elementwise(1),
    5: _pool(lambda k: k - 1), 6: _pool(lambda k: k), 7: _bmm, 8: _norm, 9: _norm,
    10: _norm, 11: _lstm, 12: _deform, 13: _elementwise(3), 14: _elementwise(4),
    15: _elementwise(1),
}  # fmt: skip


@implementation("flops_params_count", "python", "dispatch_table", max_flops=1e6)
def count(layers: Any, opts: CountOptions) -> Any:
    """One dict lookup and one small integer formula per row."""
    rows = check(layers, opts)
    counted = opts.elementwise == "counted"
    result = []
    for row in rows:
        macs, other, params = _COUNT[row[0]](tuple(row))
        result.append((opts.mac_flops * macs + (other if counted else 0), params))
    return np.array(result, dtype=np.int64).reshape(len(result), 2)
