"""sklearn.linear_model.LinearRegression(fit_intercept): centres X and y and solves with
scipy's lstsq, so where the minimiser is not unique it returns the smallest |w| with b free
(norm_includes_intercept=False only). Its ``tol`` is lstsq's cutoff on singular values
relative to the largest (default 1e-6, which drops real directions of a badly scaled
design): the adapter passes the suite's cutoff, max(N, D)*eps."""

from __future__ import annotations

from typing import Any

from sklearn.linear_model import LinearRegression

from harness import implementation
from suites.linear_regression_fit import ARGS, LinRegOptions, cutoff_eps


@implementation(
    "linear_regression_fit",
    "library",
    "sklearn",
    arrays="numpy",
    requires=("sklearn",),
    supports={"norm_includes_intercept": (False,), "solver": ("least_squares",)},
    expected_failures={
        "no_features": "sklearn refuses X with 0 features (ValueError)",
        "no_features_no_intercept_f64": "sklearn refuses X with 0 features (ValueError)",
    },
)
def linear_regression_fit(x: Any, y: Any, opts: LinRegOptions) -> Any:
    """LinearRegression(fit_intercept).fit(x, y): coef_ and intercept_ in x's dtype."""
    dtype = ARGS.check(x, y)
    tol = max(x.shape) * cutoff_eps(dtype)
    model = LinearRegression(fit_intercept=opts.fit_intercept, tol=tol).fit(x, y)
    return model.coef_.astype(dtype), dtype.type(model.intercept_)
