"""label_smoothing_ce in CuPy: class-axis log-sum-exp, one gather of the target's logit and one
tensordot (cuBLAS gemv) for Σ_c w_c·z_c; the smoothed targets are never built.
"""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.label_smoothing_ce import SmoothingOptions, check


@implementation("label_smoothing_ce", "cupy", "gemv")
def label_smoothing_ce(logits: Any, target: Any, weight: Any, smoothing: Any,
                       opts: SmoothingOptions) -> Any:  # fmt: skip
    """Log-sum-exp, gather and gemv; (1 - ε)·w_t·nll + a·(W·lse - Σ w·z)."""
    dtype = check(logits, target, weight, smoothing, opts)
    c, eps = logits.shape[1], float(smoothing)
    w = cp.ones(c, dtype) if weight is None else weight
    kept = target != opts.ignore_index
    safe = cp.where(kept, target, 0)
    top = logits.max(axis=1, keepdims=True)
    lse = cp.log(cp.exp(logits - top).sum(axis=1)) + top[:, 0]
    nll = lse - cp.take_along_axis(logits, safe[:, None], axis=1)[:, 0]
    wt = cp.where(kept, w[safe], 0).astype(dtype)
    spread = lse * w.sum() - cp.tensordot(logits, w, axes=([1], [0]))
    if opts.distribution == "uniform":
        loss = (1 - eps) * wt * nll + (eps / c) * spread
    else:
        loss = (1 - eps) * wt * nll + (eps / (c - 1)) * (spread - wt * nll)
    loss = cp.where(kept, loss, 0).astype(dtype, copy=False)
    if opts.reduction == "none":
        return loss
    total = loss.sum(dtype=cp.float64)
    if opts.reduction == "sum":
        return total.astype(dtype)
    return (total / wt.sum(dtype=cp.float64)).astype(dtype)
