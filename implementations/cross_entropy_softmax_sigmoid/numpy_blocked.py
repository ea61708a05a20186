"""cross_entropy_softmax_sigmoid in NumPy: blocks of samples small enough to stay in cache.

Index targets: per block, the class max, exp(x - max) into one scratch block, its class sum
and log, then the target's logit gathered (never the whole log-softmax). Probability inputs
need only the gathered probabilities. Probability targets: Σ w·q·(x - max) and Σ w·q in one
pass each, so log-softmax is never stored. Sigmoid: the stable softplus form on the block.
Everything is worked in pred's dtype; the final sums use NumPy's pairwise summation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.cross_entropy_softmax_sigmoid import LOG_FLOOR, CrossEntropyOptions, check

_BLOCK = 1 << 16  # elements per block: 256 KB of float32, inside L2


def _along_classes(v: np.ndarray, ndim: int) -> np.ndarray:
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _log_clamped(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        out: np.ndarray = np.maximum(np.log(p), LOG_FLOOR)
    return out


def _blocks(pred: np.ndarray) -> range:
    per = max(1, _BLOCK // max(1, pred[:1].size))
    return range(0, pred.shape[0], per)


def _index(pred: np.ndarray, t: np.ndarray, w: np.ndarray | None,
           opts: CrossEntropyOptions) -> tuple[np.ndarray, Any]:  # fmt: skip
    kept = t != opts.ignore_index
    safe = np.where(kept, t, 0)
    wt = kept.astype(pred.dtype) if w is None else np.where(kept, w[safe], 0).astype(pred.dtype)
    if opts.input == "probabilities":
        picked = np.take_along_axis(pred, safe[:, None], axis=1)[:, 0]
        return -_log_clamped(picked) * wt, wt
    loss = np.empty(t.shape, pred.dtype)
    blocks = _blocks(pred)
    buf = np.empty((blocks.step, *pred.shape[1:]), pred.dtype)
    for r0 in blocks:
        x, idx = pred[r0 : r0 + blocks.step], safe[r0 : r0 + blocks.step]
        top = x.max(axis=1, keepdims=True)
        e = np.subtract(x, top, out=buf[: len(x)])
        np.exp(e, out=e)
        lse = np.log(e.sum(axis=1)) + top[:, 0]
        loss[r0 : r0 + blocks.step] = lse - np.take_along_axis(x, idx[:, None], axis=1)[:, 0]
    return np.where(kept, loss * wt, 0), wt  # an ignored sample's NaN logit stays out


def _probability(pred: np.ndarray, q: np.ndarray, w: np.ndarray | None,
                 opts: CrossEntropyOptions) -> np.ndarray:  # fmt: skip
    wq = q if w is None else q * _along_classes(w, q.ndim)
    if opts.input == "probabilities":
        out: np.ndarray = -(wq * _log_clamped(pred)).sum(axis=1)
        return out
    loss = np.empty((pred.shape[0], *pred.shape[2:]), pred.dtype)
    blocks = _blocks(pred)
    buf = np.empty((blocks.step, *pred.shape[1:]), pred.dtype)
    for r0 in blocks:
        x, wqb = pred[r0 : r0 + blocks.step], wq[r0 : r0 + blocks.step]
        top = x.max(axis=1, keepdims=True)
        shifted = np.subtract(x, top, out=buf[: len(x)])
        dot = (wqb * shifted).sum(axis=1)  # Σ w·q·(x - max)
        np.exp(shifted, out=shifted)
        log_sum = np.log(shifted.sum(axis=1))
        loss[r0 : r0 + blocks.step] = wqb.sum(axis=1) * log_sum - dot
    return loss


def _sigmoid(pred: np.ndarray, y: np.ndarray, w: np.ndarray | None, pw: np.ndarray | None,
             opts: CrossEntropyOptions) -> np.ndarray:  # fmt: skip
    if opts.input == "probabilities":
        with np.errstate(divide="ignore"):
            log_q = np.maximum(np.log1p(-pred), LOG_FLOOR)
        loss = -(y * _log_clamped(pred) + (1 - y) * log_q)
    else:  # (1 - y)·x + (pw·y + 1 - y)·softplus(-x), softplus(-x) = max(-x, 0) + log1p(e^-|x|)
        sp = np.log1p(np.exp(-np.abs(pred)))
        sp += np.maximum(-pred, 0)
        ny = 1 - y
        coef = ny + (y if pw is None else y * _along_classes(pw, y.ndim))
        loss = ny * pred
        loss += coef * sp
    if w is not None:
        loss *= _along_classes(w, loss.ndim)
    out: np.ndarray = loss
    return out


@implementation("cross_entropy_softmax_sigmoid", "numpy", "blocked")
def cross_entropy(pred: Any, target: Any, weight: Any, pos_weight: Any,
                  opts: CrossEntropyOptions) -> Any:  # fmt: skip
    """Cache-sized sample blocks: max, exp-sum and the target's logit; no full log-softmax."""
    dtype = check(pred, target, weight, pos_weight, opts)
    denominator: Any = None
    with np.errstate(invalid="ignore", over="ignore"):
        if opts.form == "index":
            loss, wt = _index(pred, target, weight, opts)
            denominator = wt.sum(dtype=np.float64)
        elif opts.form == "probability":
            loss = _probability(pred, target, weight, opts)
        else:
            loss = _sigmoid(pred, target, weight, pos_weight, opts)
        if opts.reduction == "none":
            return loss.astype(dtype, copy=False)
        total = loss.sum(dtype=np.float64)
        if opts.reduction == "sum":
            return np.asarray(total, dtype)
        with np.errstate(divide="ignore"):
            return np.asarray(total / (loss.size if denominator is None else denominator), dtype)
