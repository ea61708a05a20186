"""dice_loss in CuPy: a fused ElementwiseKernel-free port of the gather approach: the
softmax over channels with cupy reductions, the target's probability gathered once per
pixel and binned by (image, class) with cp.bincount; class sums in float64.
"""

from __future__ import annotations

from typing import Any

import cupy as cp
import numpy as np

from harness import implementation
from suites.dice_loss import DiceOptions, check, finish

_SIGMOID = cp.ElementwiseKernel("T x", "T p", "p = (T)1 / ((T)1 + exp(-x))", "opshootout_sigmoid")


def _activate(x: Any, activation: str) -> Any:
    if activation == "softmax":
        e = x - x.max(axis=1, keepdims=True)
        cp.exp(e, out=e)
        e /= e.sum(axis=1, keepdims=True)
        return e
    return _SIGMOID(x) if activation == "sigmoid" else x


@implementation("dice_loss", "cupy", "gather")
def dice_loss(preds: Any, target: Any, opts: DiceOptions) -> Any:
    """Softmax by reductions; gather + bincount for index targets; one small host finish."""
    dtype = check(preds, target, opts)
    n, c = preds.shape[:2]
    hw = preds.shape[2] * preds.shape[3]
    p = _activate(preds.reshape(n, c, hw), opts.activation)
    if opts.target_format == "one_hot":
        g = target.reshape(n, c, hw).astype(p.dtype, copy=False)
        inter = (p * g).sum(axis=2, dtype=np.float64)
        gsum = (g * g if opts.squared else g).sum(axis=2, dtype=np.float64)
    else:
        t = target.reshape(n, hw)
        weight = None
        if opts.ignore_index is not None:
            valid = t != opts.ignore_index
            t = cp.where(valid, t, 0)
            p = p * valid[:, None, :]
            weight = valid.astype(np.float64).ravel()
        bins = (t + c * cp.arange(n)[:, None]).ravel()
        pg = cp.take_along_axis(p, t[:, None, :], axis=1).ravel().astype(np.float64)
        if n * c and bins.size:
            inter = cp.bincount(bins, weights=pg, minlength=n * c)[: n * c].reshape(n, c)
            gsum = cp.bincount(bins, weights=weight, minlength=n * c)[: n * c].reshape(n, c)
            gsum = gsum.astype(np.float64)
        else:
            inter = gsum = cp.zeros((n, c), dtype=np.float64)
    psum = (p * p if opts.squared else p).sum(axis=2, dtype=np.float64)
    i, p_, g = (cp.asnumpy(a) for a in (inter, psum, gsum))
    return cp.asarray(finish(i, p_, g, opts), dtype=dtype)
