"""cross_entropy_softmax_sigmoid with Numba: one fused loop per sample row.

Index targets: per row a max pass and an exp-sum pass over the C logits, then only the
target's entry (probability inputs: one log per row, nothing else read). Probability
targets: the same two passes with Σ w·q·x and Σ w·q accumulated in the second. Sigmoid: one
elementwise pass over (N, C, S) with the stable softplus. K-dimensional softmax inputs are
laid out as (N·S, C) rows once. One thread; sums in pred's dtype (the caller's float64 total).
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.cross_entropy_softmax_sigmoid import LOG_FLOOR, CrossEntropyOptions, check

# no "nnan"/"ninf": a NaN logit must reach its row's loss; "reassoc" vectorises the sums
_FAST = {"reassoc", "contract", "nsz", "arcp"}


@numba.njit(fastmath=_FAST, cache=False, error_model="numpy")
def _index_rows(x: Any, t: Any, w: Any, ignore: int, probs: bool, out: Any) -> float:
    wsum = 0.0
    for i in range(x.shape[0]):
        ti = t[i]
        if ti == ignore:
            out[i] = 0.0
            continue
        row = x[i]
        if probs:
            lp = max(np.log(row[ti]), LOG_FLOOR)
        else:
            top = row[0]
            for j in range(1, row.shape[0]):
                top = max(top, row[j])
            acc = row[0] * 0  # pred's dtype (NaN stays NaN through the sum below)
            for j in range(row.shape[0]):
                acc += np.exp(row[j] - top)
            lp = (row[ti] - top) - np.log(acc)
        out[i] = -w[ti] * lp
        wsum += w[ti]
    return wsum


@numba.njit(fastmath=_FAST, cache=False, error_model="numpy")
def _probability_rows(x: Any, q: Any, w: Any, probs: bool, out: Any) -> None:
    for i in range(x.shape[0]):
        row, qi = x[i], q[i]
        if probs:
            acc = row[0] * 0
            for j in range(row.shape[0]):
                acc += w[j] * qi[j] * max(np.log(row[j]), LOG_FLOOR)
            out[i] = -acc
            continue
        top = row[0]
        for j in range(1, row.shape[0]):
            top = max(top, row[j])
        total = row[0] * 0
        dot = row[0] * 0
        mass = row[0] * 0
        for j in range(row.shape[0]):
            s = row[j] - top
            total += np.exp(s)
            wq = w[j] * qi[j]
            dot += wq * s
            mass += wq
        out[i] = mass * np.log(total) - dot


@numba.njit(fastmath=_FAST, cache=False, error_model="numpy")
def _sigmoid(x: Any, y: Any, w: Any, pw: Any, probs: bool, out: Any) -> None:
    n, c, s = x.shape
    for i in range(n):
        for j in range(c):
            wj, pwj = w[j], pw[j]
            for k in range(s):
                v, yv = x[i, j, k], y[i, j, k]
                if probs:
                    lp = max(np.log(v), LOG_FLOOR)
                    lq = max(np.log1p(-v), LOG_FLOOR)
                    out[i, j, k] = -wj * (yv * lp + (1 - yv) * lq)
                else:
                    sp = max(-v, 0) + np.log1p(np.exp(-abs(v)))  # softplus(-v)
                    out[i, j, k] = wj * ((1 - yv) * v + (pwj * yv + 1 - yv) * sp)


def _rows(a: np.ndarray) -> np.ndarray:
    """(N, C, *S) -> (N·S, C) C-contiguous rows (a view for 2-D input)."""
    return np.ascontiguousarray(np.moveaxis(a, 1, -1).reshape(-1, a.shape[1]))


@implementation("cross_entropy_softmax_sigmoid", "numba", "rows")
def cross_entropy(pred: Any, target: Any, weight: Any, pos_weight: Any,
                  opts: CrossEntropyOptions) -> Any:  # fmt: skip
    """Per row: max pass, exp-sum pass, the target's entry; sigmoid in one flat pass."""
    dtype = check(pred, target, weight, pos_weight, opts)
    n, c, spatial = pred.shape[0], pred.shape[1], pred.shape[2:]
    w = np.ones(c, dtype) if weight is None else weight
    probs = opts.input == "probabilities"
    denominator: Any = None
    if opts.form == "index":
        loss = np.empty(target.size, dtype)
        t = np.ascontiguousarray(target.reshape(-1), dtype=np.int64)
        denominator = _index_rows(_rows(pred), t, w, opts.ignore_index, probs, loss)
        loss = loss.reshape(target.shape)
    elif opts.form == "probability":
        loss = np.empty(n * math.prod(spatial), dtype)
        _probability_rows(_rows(pred), _rows(target), w, probs, loss)
        loss = loss.reshape((n, *spatial))
    else:
        pw = np.ones(c, dtype) if pos_weight is None else pos_weight
        shape3 = (n, c, math.prod(spatial))
        loss = np.empty(shape3, dtype)
        _sigmoid(pred.reshape(shape3), target.reshape(shape3), w, pw, probs, loss)
        loss = loss.reshape(pred.shape)
    if opts.reduction == "none":
        return loss
    total = loss.sum(dtype=np.float64)
    if opts.reduction == "sum":
        return np.asarray(total, dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(total / (loss.size if denominator is None else denominator), dtype)
