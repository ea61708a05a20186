"""scipy.special.rel_entr(p, q), elementwise and exact (it treats 0·log(0/q) as 0), with
the adapter from F.kl_div's arguments: q = exp(input), p = target or exp(target), in
float64 (exp(input) would underflow in float32); zero_target='torch' puts back torch's NaN
where P = 0 meets an infinite input, and where a log target is -inf.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import rel_entr

from harness import implementation
from suites.kl_divergence import KlOptions, check


@implementation("kl_divergence", "library", "scipy", arrays="numpy", requires=("scipy",))
def kl_divergence(input: Any, target: Any, opts: KlOptions) -> Any:
    """rel_entr(p, exp(input)) in float64, reduced with NumPy."""
    dtype = check(input, target, opts)
    x, t = np.asarray(input, np.float64), np.asarray(target, np.float64)
    with np.errstate(all="ignore"):
        p = np.exp(t) if opts.log_target else t
        terms = rel_entr(p, np.exp(x))
        if opts.zero_target == "torch":
            nan = (t == -np.inf) if opts.log_target else (t == 0) & np.isinf(x)
            terms[nan] = np.nan
        if opts.reduction == "none":
            return terms.astype(dtype)
        total = terms.sum()
        count = {"sum": 1, "mean": terms.size, "batchmean": terms.shape[0]}[opts.reduction]
        return np.asarray(total / count if count else np.nan, dtype)
