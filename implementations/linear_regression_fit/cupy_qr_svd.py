"""linear_regression_fit in CuPy: cusolver QR of the design (centred, or with a column of
ones), SVD of the small R, singular values past the cutoff inverted; wide problems take the
SVD of the design directly.
"""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.linear_regression_fit import ARGS, LinRegOptions, cutoff_eps


@implementation("linear_regression_fit", "cupy", "qr_svd", supports={"solver": ("least_squares",)})
def linear_regression_fit(x: Any, y: Any, opts: LinRegOptions) -> Any:
    """QR of the design, SVD of R, minimum-norm solution, on the current device."""
    dtype = ARGS.check(x, y)
    joint = opts.fit_intercept and opts.norm_includes_intercept
    centre = opts.fit_intercept and not joint
    if centre:
        xm, ym = x.mean(axis=0), y.mean()
        a, t = x - xm, y - ym
    elif joint:
        a, t = cp.concatenate([x, cp.ones((len(x), 1), dtype=dtype)], axis=1), y
    else:
        a, t = x, y
    if a.shape[1] == 0:
        v = cp.zeros(0, dtype=dtype)
    else:
        if len(a) >= a.shape[1]:
            q, r = cp.linalg.qr(a)
            u, s, vt = cp.linalg.svd(r)
            ut = u.T @ (q.T @ t)
        else:
            u, s, vt = cp.linalg.svd(a, full_matrices=False)
            ut = u.T @ t
        keep = s > max(a.shape) * cutoff_eps(dtype) * s[0]
        v = vt[keep].T @ (ut[keep] / s[keep])
    if joint:
        return v[:-1].copy(), v[-1].copy()
    return v, (ym - xm @ v) if centre else cp.zeros((), dtype=dtype)
