"""numpy.linalg.lstsq(rcond=None): on X with a column of ones (the joint minimum norm), on
centred X and y (b free, then b = mean(y) - mean(X) w), or on X itself."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.linear_regression_fit import ARGS, LinRegOptions


@implementation(
    "linear_regression_fit",
    "library",
    "lstsq",
    arrays="numpy",
    requires=("numpy",),
    supports={"solver": ("least_squares",)},
)
def linear_regression_fit(x: Any, y: Any, opts: LinRegOptions) -> Any:
    """lstsq on the design each convention names."""
    dtype = ARGS.check(x, y)
    if not opts.fit_intercept:
        return np.linalg.lstsq(x, y, rcond=None)[0], dtype.type(0)
    if opts.norm_includes_intercept:
        v = np.linalg.lstsq(np.concatenate([x, np.ones((len(x), 1), dtype)], 1), y, rcond=None)[0]
        return v[:-1].copy(), v[-1]
    xm, ym = x.mean(axis=0), y.mean()
    w = np.linalg.lstsq(x - xm, y - ym, rcond=None)[0]
    return w, dtype.type(ym - xm @ w)
