"""focal_loss in NumPy: row blocks of ~64k elements, every step an in-place ufunc on a few
block-sized buffers that stay in L2 (no full-size temporaries).

Per block: e = exp(-|x|), p from e, ce = max(x, 0) - x·y + log1p(e), q = 1 - p_t =
p + y - 2py, q**γ (a multiplication for γ = 2), α_t = (1 - α) + (2α - 1)·y. Reductions
accumulate each block's pairwise sum in float64. The softmax form: the blocks hold whole
rows, log-softmax with the row max shift, then the same in-place steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.focal_loss import FocalOptions, check

_BLOCK = 1 << 16


def _softmax_block(x: Any, y: Any, out: Any, p: Any, alpha: float, gamma: float,
                   opts: Any) -> None:  # fmt: skip
    """The multi-class terms of whole rows: log p = x - max - log Σ exp(x - max) in out,
    p = exp(log p) in the scratch, then -α·y·(1 - p)^γ·log p."""
    if x.shape[1] == 0:
        return
    if opts.input == "logits":
        np.subtract(x, x.max(axis=1, keepdims=True), out=out)
        np.exp(out, out=p)
        out -= np.log(p.sum(axis=1, keepdims=True))
        np.exp(out, out=p)
    else:
        np.log(np.maximum(x, out.dtype.type(opts.clip_eps)), out=out)
        p[...] = x
    np.negative(out, out=out)
    out *= y
    np.subtract(1, p, out=p)
    if gamma == 2.0:
        np.square(p, out=p)
    elif gamma != 1.0:
        np.power(p, gamma, out=p)
    out *= p
    if alpha >= 0:
        out *= out.dtype.type(alpha)


def _block(x: Any, y: Any, out: Any, p: Any, alpha: float, gamma: float, opts: Any) -> None:
    """out = the elementwise loss of the block; p is scratch of the same shape."""
    if opts.form == "softmax":
        _softmax_block(x, y, out, p, alpha, gamma, opts)
        return
    if opts.input == "logits":
        np.abs(x, out=p)
        np.negative(p, out=p)
        np.exp(p, out=p)  # e = exp(-|x|)
        np.log1p(p, out=out)
        out += np.maximum(x, 0, dtype=out.dtype)
        out -= x * y
        # p = 1 / (1 + e) for x >= 0, e / (1 + e) otherwise
        denom = 1 + p
        np.divide(np.where(x >= 0, 1, p), denom, out=p)
    else:
        eps = out.dtype.type(opts.clip_eps)
        np.log(np.maximum(x, eps), out=out)
        out *= y
        other = np.maximum(1 - x, eps)
        np.log(other, out=other)
        other *= 1 - y
        out += other
        np.negative(out, out=out)
        p[...] = x
    # q = 1 - p_t = p + y - 2 p y, into p
    py = p * y
    p += y
    py *= 2
    p -= py
    if gamma == 2.0:
        np.square(p, out=p)
    elif gamma != 1.0:
        np.power(p, gamma, out=p)
    out *= p
    if alpha >= 0:
        a = y * out.dtype.type(2 * alpha - 1)
        a += out.dtype.type(1 - alpha)
        out *= a


@implementation("focal_loss", "numpy", "chunked")
def focal_loss(inputs: Any, targets: Any, alpha: float, gamma: float, opts: FocalOptions) -> Any:
    """Row blocks in L2, in-place ufuncs; float64 accumulation of the block sums."""
    dtype = check(inputs, targets, alpha, gamma, opts)
    x = np.asarray(inputs, dtype=dtype)
    y = np.asarray(targets, dtype=dtype)
    n, c = x.shape
    keep = opts.reduction == "none"
    out = np.empty((n, c), dtype=dtype) if keep else None
    step = max(1, _BLOCK // max(c, 1))
    buf = np.empty((min(step, n), c), dtype=dtype)
    scratch = np.empty_like(buf)
    total = 0.0
    with np.errstate(all="ignore"):
        for r0 in range(0, n, step):
            xb, yb = x[r0 : r0 + step], y[r0 : r0 + step]
            ob = out[r0 : r0 + step] if out is not None else buf[: len(xb)]
            _block(xb, yb, ob, scratch[: len(xb)], float(alpha), float(gamma), opts)
            if not keep:
                total += float(ob.sum(dtype=np.float64))
    if out is not None:
        return out
    k = n * c
    if opts.reduction == "sum":
        value = total
    elif opts.reduction == "mean":
        value = total / k if k else np.nan
    elif opts.reduction == "per_sample_mean":
        value = total / n if n else np.nan
    else:
        positives = int(np.count_nonzero((y > 0).any(axis=1))) if y.size else 0
        value = total / max(1, positives)
    return np.asarray(value, dtype=dtype)
