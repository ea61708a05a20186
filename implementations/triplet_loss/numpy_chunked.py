"""triplet_loss in NumPy: blocks of rows small enough for the cache; per block the difference
(+ eps) into one scratch buffer, its p-norm per row (p = 2: einsum of the squares, then sqrt;
p = 1 and inf: abs sum / max), the hinge, and a float64 running sum for the reductions.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from harness import implementation
from suites.triplet_loss import TripletOptions, check

BLOCK = 1 << 15  # elements of one (rows, D) scratch block: 128 KB in float32, inside L2


def _distance(x: Any, y: Any, p: float, opts: TripletOptions, buf: Any) -> Any:
    """||x - y + eps||_p per row (squared when asked), in the inputs' dtype."""
    v = np.subtract(x, y, out=buf)
    if opts.eps:
        v += v.dtype.type(opts.eps)
    if p == 2:
        d = np.einsum("ij,ij->i", v, v)
        return d if opts.squared else np.sqrt(d, out=d)
    np.abs(v, out=v)
    if p == 1:
        d = v.sum(axis=1)
    elif p == math.inf:
        d = v.max(axis=1, initial=0)
    else:
        d = np.power(v, v.dtype.type(p), out=v).sum(axis=1) ** v.dtype.type(1.0 / p)
    return d * d if opts.squared else d


@implementation("triplet_loss", "numpy", "chunked")
def triplet_loss(anchor: Any, positive: Any, negative: Any, margin: Any, p: Any,
                 opts: TripletOptions) -> Any:  # fmt: skip
    """Row blocks of BLOCK elements; two (three with swap) distances per block."""
    dtype = check(anchor, positive, negative, margin, p)
    b, d = anchor.shape
    pw, m = float(p), dtype.type(margin)
    rows = max(1, BLOCK // max(d, 1))
    buf = np.empty((min(rows, b), d), dtype)
    out = np.empty(b, dtype) if opts.reduction == "none" else None
    total = 0.0
    with np.errstate(invalid="ignore", over="ignore"):
        for i in range(0, b, rows):
            a, pos, neg = anchor[i : i + rows], positive[i : i + rows], negative[i : i + rows]
            scratch = buf[: len(a)]
            d_ap = _distance(a, pos, pw, opts, scratch)
            d_an = _distance(a, neg, pw, opts, scratch)
            if opts.swap:
                np.minimum(d_an, _distance(pos, neg, pw, opts, scratch), out=d_an)
            loss = np.maximum(np.add(np.subtract(d_ap, d_an, out=d_ap), m, out=d_ap), 0, out=d_ap)
            if out is not None:
                out[i : i + rows] = loss
            else:
                total += float(loss.sum(dtype=np.float64))
    if out is not None:
        return out
    if opts.reduction == "sum":
        return np.asarray(total, dtype)
    return np.asarray(total / b if b else np.nan, dtype)
