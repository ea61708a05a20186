"""linear_regression_fit in Numba: one compiled function centres the design in a single
pass (column sums, then the centred copy), then LAPACK's QR of the tall design and an SVD of
the small R (np.linalg inside njit) give the minimum-norm solution.
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
    Returns (v, column means, mean of y): the means in float64, the design in x's dtype."""
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
        xm /= n
        ym /= n
    xmt = xm.astype(x.dtype)
    for i in range(n):
        for f in range(d):
            a[i, f] = x[i, f] - xmt[f]
        if mode == 2:
            a[i, d] = 1.0
    t = y - np.full(1, ym, dtype=y.dtype)[0]
    v = np.zeros(cols, dtype=x.dtype)
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
            v += vt[k] * (ut[k] / s[k])
    return v, xm, ym


@implementation("linear_regression_fit", "numba", "qr_svd")
def linear_regression_fit(x: Any, y: Any, opts: LinRegOptions) -> Any:
    """Fused centring, then QR + SVD inside one compiled function."""
    dtype = ARGS.check(x, y)
    mode = 0 if not opts.fit_intercept else 2 if opts.norm_includes_intercept else 1
    xs = np.ascontiguousarray(x, dtype=dtype)
    v, xm, ym = _fit(xs, np.ascontiguousarray(y, dtype=dtype), mode, cutoff_eps(dtype))
    if mode == 2:
        return v[:-1].copy(), v[-1]
    return v, dtype.type(ym - xm @ v if mode == 1 else 0.0)
