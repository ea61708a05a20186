"""linear_regression_fit in NumPy: the design (centred, or with a column of ones) with y
appended as a last column is reduced by one Householder QR in mode 'r' (2*N*D^2 flops, the
only pass over the N rows; Q is never formed: the last column of R is Q^T y), then the
small R is split by an SVD for the rank decision and the minimum-norm solution. Wide
problems (N < D) take the SVD of the design directly. solver='gradient_descent' runs the
full-batch steps (two matrix-vector products a step). Arithmetic in X's dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.linear_regression_fit import ARGS, LinRegOptions, cutoff_eps


def _descend(x: Any, y: Any, opts: LinRegOptions, dtype: Any) -> Any:
    """Full-batch steps in X's dtype: one X @ w (the residual in place) and one X^T @ r a
    step; lr·f folded into one scalar."""
    n, d = x.shape
    step = dtype.type(opts.lr * (2.0 / n if opts.loss == "mean" else 2.0))
    w, b = np.zeros(d, dtype), dtype.type(0)
    xt = np.ascontiguousarray(x.T)
    for _ in range(opts.steps):
        r = x @ w
        r += b
        r -= y
        w -= step * (xt @ r)
        if opts.fit_intercept:
            b = dtype.type(b - step * r.sum())
    return w, b


@implementation("linear_regression_fit", "numpy", "qr_svd")
def linear_regression_fit(x: Any, y: Any, opts: LinRegOptions) -> Any:
    """QR of the design, SVD of R, singular values past the cutoff inverted (or the
    gradient-descent iterate)."""
    dtype = ARGS.check(x, y)
    if opts.solver == "gradient_descent":
        return _descend(x, y, opts, dtype)
    joint = opts.fit_intercept and opts.norm_includes_intercept
    centre = opts.fit_intercept and not joint
    xm, ym = (x.mean(axis=0), y.mean()) if centre else (None, None)
    a = x - xm if centre else np.concatenate([x, np.ones((len(x), 1), dtype)], 1) if joint else x
    t = y - ym if centre else y
    if a.shape[1] == 0:
        v = np.zeros(0, dtype)
    else:
        cols = a.shape[1]
        if len(a) >= cols:
            r = np.asarray(np.linalg.qr(np.concatenate([a, t[:, None]], axis=1), mode="r"))
            u, s, vt = np.linalg.svd(r[:cols, :cols])
            ut = u.T @ r[:cols, cols]
        else:
            u, s, vt = np.linalg.svd(a, full_matrices=False)
            ut = u.T @ t
        keep = s > max(a.shape) * cutoff_eps(dtype) * s[0]
        v = vt[keep].T @ (ut[keep] / s[keep])
    if joint:
        return v[:-1].copy(), v[-1]
    if centre:
        return v, dtype.type(ym - xm @ v)
    return v, dtype.type(0)
