"""sinkhorn_ot through POT (Python Optimal Transport): ot.sinkhorn on NumPy arrays.

The call a practitioner writes, with the suite's stopping rule spelled out (POT's own
defaults: 1,000 iterations, stopThr 1e-9; the float32 threshold for float32 inputs). Where
POT only warns, the suite's convention raises: its "numerical errors" warning (K or the
scalings left the float range, and it returned the previous iterate) becomes the ValueError.
Around two limits of POT: an empty side never reaches it (it would replace an empty
histogram by a uniform one), and its scaling method gets the zero-mass bins removed (their
rows and columns of the plan are 0): it divides K by a, so a zero mass of a meets the zero
scaling of a zero-mass bin of b as inf·0 = NaN. Its log domain takes them as they are.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import ot

from harness import implementation
from suites.sinkhorn_ot import ARGS, MAX_ITER, UNDERFLOW, SinkhornOptions, stop_threshold


@implementation("sinkhorn_ot", "library", "pot", arrays="numpy", requires=("ot",))
def sinkhorn_ot(a: Any, b: Any, M: Any, reg: Any, opts: SinkhornOptions) -> Any:
    """ot.sinkhorn(a, b, M, reg, method=...) with numItermax and stopThr pinned."""
    dtype = ARGS.check(a, b, M, reg)
    a, b, M = (np.asarray(x, dtype=dtype) for x in (a, b, M))
    if M.size == 0:
        return np.zeros(M.shape, dtype=dtype)
    if opts.method == "sinkhorn" and not (a.all() and b.all()):
        rows, cols = a > 0, b > 0
        plan = np.zeros(M.shape, dtype=dtype)
        plan[np.ix_(rows, cols)] = sinkhorn_ot(a[rows], b[cols], M[np.ix_(rows, cols)], reg, opts)
        return plan
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plan = ot.sinkhorn(
            a,
            b,
            M,
            float(reg),
            method=opts.method,
            numItermax=MAX_ITER,
            stopThr=stop_threshold(dtype),
        )
    if any("numerical errors" in str(w.message) for w in caught):
        raise ValueError(f"{UNDERFLOW} (POT: numerical errors); use method='sinkhorn_log'")
    return plan
