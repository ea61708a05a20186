"""cross_entropy_softmax_sigmoid in CuPy: class-axis reductions for the log-sum-exp, one gather
of the target's logit (index), and one fused ElementwiseKernel for the sigmoid BCE (pred and
target read once, the loss written once).
"""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.cross_entropy_softmax_sigmoid import LOG_FLOOR, CrossEntropyOptions, check

# softplus(-x) = max(-x, 0) + log1p(exp(-|x|)); loss = w·((1 - y)·x + (pw·y + 1 - y)·softplus(-x))
_BCE_LOGITS = cp.ElementwiseKernel(
    "T x, T y, T w, T pw",
    "T loss",
    "T sp = max(-x, (T)0) + log1p(exp(-abs(x)));"
    "loss = w * (((T)1 - y) * x + (pw * y + (T)1 - y) * sp);",
    "opshootout_bce_logits",
)
_BCE_PROBS = cp.ElementwiseKernel(
    "T p, T y, T w, T floor",
    "T loss",
    "T lp = max(log(p), floor); T lq = max(log1p(-p), floor);"
    "loss = -w * (y * lp + ((T)1 - y) * lq);",
    "opshootout_bce_probs",
)


def _along_classes(v: Any, ndim: int) -> Any:
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _lse(x: Any) -> Any:
    top = x.max(axis=1, keepdims=True)
    return cp.log(cp.exp(x - top).sum(axis=1)) + top[:, 0]


def _losses(pred: Any, target: Any, w: Any, pw: Any, opts: CrossEntropyOptions) -> tuple[Any, Any]:
    probs = opts.input == "probabilities"
    if opts.form == "index":
        kept = target != opts.ignore_index
        safe = cp.where(kept, target, 0)
        picked = cp.take_along_axis(pred, safe[:, None], axis=1)[:, 0]
        loss = -cp.maximum(cp.log(picked), LOG_FLOOR) if probs else _lse(pred) - picked
        wt = kept.astype(pred.dtype) if w is None else cp.where(kept, w[safe], 0).astype(pred.dtype)
        return cp.where(kept, loss * wt, 0), wt.sum(dtype=cp.float64)
    if opts.form == "probability":
        wq = target if w is None else target * _along_classes(w, target.ndim)
        if probs:
            return -(wq * cp.maximum(cp.log(pred), LOG_FLOOR)).sum(axis=1), None
        return wq.sum(axis=1) * _lse(pred) - (wq * pred).sum(axis=1), None
    one = cp.ones(pred.shape[1], pred.dtype)
    wb = _along_classes(one if w is None else w, pred.ndim)
    if probs:
        return _BCE_PROBS(pred, target, wb, pred.dtype.type(LOG_FLOOR)), None
    return _BCE_LOGITS(pred, target, wb, _along_classes(one if pw is None else pw, pred.ndim)), None


@implementation("cross_entropy_softmax_sigmoid", "cupy", "fused")
def cross_entropy(pred: Any, target: Any, weight: Any, pos_weight: Any,
                  opts: CrossEntropyOptions) -> Any:  # fmt: skip
    """Class-axis log-sum-exp and a gather; a fused elementwise kernel for sigmoid."""
    dtype = check(pred, target, weight, pos_weight, opts)
    loss, denominator = _losses(pred, target, weight, pos_weight, opts)
    if opts.reduction == "none":
        return loss.astype(dtype, copy=False)
    total = loss.sum(dtype=cp.float64)
    if opts.reduction == "sum":
        return total.astype(dtype)
    return (total / (loss.size if denominator is None else denominator)).astype(dtype)
