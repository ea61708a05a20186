"""linear_regression_fit in Numba: one compiled function centres the design in a single
pass (column sums, then the centred copy), then LAPACK's QR of the tall design and an SVD of
the small R (np.linalg inside njit) give the minimum-norm solution.

The kernel is compiled for float64 only: float32 inputs are widened, fitted in float64 (as
the oracle does, with float32's eps in the rank cutoff) and the solution rounded back to
float32. Numba compiles np.linalg's QR and SVD for each dtype it meets (several seconds
each), so a float32 signature would double the compile time for no gain in accuracy.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.linear_regression_fit import ARGS, LinRegOptions, cutoff_eps


@numba.njit(cache=False)
def _fit(x: Any, y: Any, mode: int, eps: float) -> Any:
    """mode 0: no intercept, 1: centred (b free), 2: a column of ones (joint norm).
    Returns (v, column means, mean of y), all float64. Element loops rather than array
    expressions: each array expression adds to the compile time."""
    n, d = x.shape
    cols = d + (mode == 2)
    a = np.empty((n, cols), dtype=x.dtype)
    xm = np.zeros(d)
    ym = 0.0
    if mode == 1:
        for i in range(n):
            for f in range(d):
                xm[f] += x[i, f]
            ym += y[i]
        for f in range(d):
            xm[f] /= n
        ym /= n
    t = np.empty(n)
    for i in range(n):
        for f in range(d):
            a[i, f] = x[i, f] - xm[f]
        if mode == 2:
            a[i, d] = 1.0
        t[i] = y[i] - ym
    v = np.zeros(cols)
    if cols == 0:
        return v, xm, ym
    if n >= cols:
        q, r = np.linalg.qr(a)
        u, s, vt = np.linalg.svd(r)
        # = u.T (q.T t); Numba's LAPACK results have no fixed layout: '@' wants contiguous
        ut = (t @ np.ascontiguousarray(q)) @ np.ascontiguousarray(u)
    else:
        u, s, vt = np.linalg.svd(a, full_matrices=False)
        ut = t @ np.ascontiguousarray(u)
    for k in range(len(s)):
        if s[k] > max(n, cols) * eps * s[0]:
            w = ut[k] / s[k]
            for f in range(cols):
                v[f] += vt[k, f] * w
    return v, xm, ym


@implementation("linear_regression_fit", "numba", "qr_svd", supports={"solver": ("least_squares",)})
def linear_regression_fit(x: Any, y: Any, opts: LinRegOptions) -> Any:
    """Fused centring, then QR + SVD inside one compiled function (float64)."""
    dtype = ARGS.check(x, y)
    mode = 0 if not opts.fit_intercept else 2 if opts.norm_includes_intercept else 1
    xs = np.ascontiguousarray(x, dtype=np.float64)
    ys = np.ascontiguousarray(y, dtype=np.float64)
    v, xm, ym = _fit(xs, ys, mode, cutoff_eps(dtype))
    if mode == 2:
        return v[:-1].astype(dtype), dtype.type(v[-1])
    return v.astype(dtype), dtype.type(ym - xm @ v if mode == 1 else 0.0)
