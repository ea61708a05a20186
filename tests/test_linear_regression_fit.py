"""linear_regression_fit: the suite catches the classic mistakes of a least-squares fit.

Every wrong variant is a small NumPy fit with one deliberate mistake, run through
``harness.verify.verify`` on one of the suite's own cases; the correct one passes them all.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.verify import Verdict, verify
from suites.linear_regression_fit import SUITE, LinRegOptions, linear_regression_fit


def fit(
    x: Any,
    y: Any,
    opts: LinRegOptions,
    *,
    normal_equations: bool = False,
    compute: Any = np.float64,
    joint_always: bool = False,  # lstsq on [X, 1] whatever the norm convention
    uncentred_intercept: bool = False,  # b = mean(y) with w fitted on uncentred X
    rcond: float | None = None,
    rows: int = 0,  # > 0: only the first `rows` rows are used
    empty_shape: bool = False,  # coef (1,) when D = 0
    gd_factor: float | None = None,  # gradient descent: this factor instead of 2/N or 2
    gd_extra_steps: int = 0,
    gd_frozen_b: bool = False,  # the intercept never stepped
    gd_fresh_r: bool = False,  # b stepped with the residual after w's step
) -> Any:
    """A straightforward least-squares fit; each keyword argument switches one mistake on."""
    dtype = x.dtype
    if len(x) == 0:
        raise ValueError("x has N=0; N cannot be empty")
    if opts.solver == "gradient_descent":
        xs, ys = x.astype(compute), y.astype(compute)
        f = (2.0 / len(x) if opts.loss == "mean" else 2.0) if gd_factor is None else gd_factor
        w, b = np.zeros(x.shape[1], compute), compute(0)
        for _ in range(opts.steps + gd_extra_steps):
            r = xs @ w + b - ys
            w = w - opts.lr * f * (xs.T @ r)
            if gd_fresh_r:
                r = xs @ w + b - ys
            if opts.fit_intercept and not gd_frozen_b:
                b = b - opts.lr * f * r.sum()
        return w.astype(dtype), dtype.type(b)
    xs, ys = x.astype(compute), y.astype(compute)
    if rows:
        xs, ys = xs[:rows], ys[:rows]
    joint = opts.fit_intercept and (opts.norm_includes_intercept or joint_always)
    centre = opts.fit_intercept and not joint and not uncentred_intercept
    xm, ym = (xs.mean(axis=0), ys.mean()) if centre else (0.0, 0.0)
    a = np.concatenate([xs, np.ones((len(xs), 1), compute)], 1) if joint else xs - xm
    t = ys - ym
    if a.shape[1] == 0 and empty_shape:
        return np.zeros(1, dtype=dtype), dtype.type(ys.mean() if opts.fit_intercept else 0)
    if a.shape[1] == 0:
        v = np.zeros(0)
    elif normal_equations:
        v = np.linalg.solve(a.T @ a, a.T @ t)
    else:
        cut = max(a.shape) * float(np.finfo(dtype).eps) if rcond is None else rcond
        v = np.linalg.lstsq(a, t, rcond=cut)[0]
    if joint:
        w, b = v[:-1], v[-1]
    elif uncentred_intercept and opts.fit_intercept:
        w, b = v, ys.mean()
    else:
        w, b = v, (ym - xm @ v if opts.fit_intercept else 0.0)
    return np.asarray(w, dtype=dtype), dtype.type(b)


def run(case_name: str, **mistake: Any) -> Verdict:
    def fn(x: Any, y: Any, opts: LinRegOptions) -> Any:
        return fit(x, y, opts, **mistake)

    impl = Implementation(
        "linear_regression_fit", "numpy", "test_" + ("_".join(mistake) or "ok"), fn
    )
    return verify(SUITE, impl, SUITE.find_case(case_name))


def assert_flagged(verdict: Verdict, *words: str) -> None:
    assert verdict.status in ("fail", "error"), verdict
    for word in words:
        assert word in verdict.detail, verdict.detail


@pytest.mark.parametrize("name", [c.name for c in SUITE.cases] + [e.name for e in SUITE.errors])
def test_the_straightforward_fit_passes_every_case(name: str) -> None:
    verdict = run(name)
    assert verdict.status == "pass", verdict.detail


def test_normal_equations_are_caught_on_the_near_collinear_case() -> None:
    assert run("random_f64", normal_equations=True).status == "pass"  # well conditioned
    assert_flagged(run("near_collinear_f64", normal_equations=True), "coef")


def test_float32_arithmetic_on_float64_inputs_is_caught() -> None:
    assert_flagged(run("near_collinear_f64", compute=np.float32), "coef")


def test_the_joint_norm_where_b_is_free_is_caught() -> None:
    assert_flagged(run("collinear_f64", joint_always=True), "coef")


def test_an_intercept_without_centring_is_caught() -> None:
    assert_flagged(run("random_f64", uncentred_intercept=True), "coef")


def test_a_loose_singular_value_cutoff_is_caught() -> None:
    # sklearn's default tol: 1e-6 of the largest singular value drops real directions
    assert_flagged(run("badly_scaled_f64", rcond=1e-6), "coef")


def test_a_fit_blind_past_its_first_block_is_caught() -> None:
    assert_flagged(run("multi_block", rows=256), "coef")


def test_a_wrong_shape_on_no_features_is_caught() -> None:
    assert_flagged(run("no_features", empty_shape=True), "shape")


def test_gradient_descent_on_the_sum_for_the_mean_is_caught() -> None:
    assert_flagged(run("gd_mean_f64", gd_factor=2.0), "coef")


def test_gradient_descent_without_the_factor_2_is_caught() -> None:
    assert_flagged(run("gd_mean_f32", gd_factor=1.0 / 150), "coef")


def test_gradient_descent_one_step_too_many_is_caught() -> None:
    assert_flagged(run("gd_mean_f64", gd_extra_steps=1), "coef")
    assert_flagged(run("gd_one_step_f64", gd_extra_steps=1), "coef")


def test_gradient_descent_with_a_frozen_intercept_is_caught() -> None:
    assert_flagged(run("gd_mean_f64", gd_frozen_b=True), "intercept")


def test_gradient_descent_stepping_b_with_a_fresh_residual_is_caught() -> None:
    assert_flagged(run("gd_mean_f64", gd_fresh_r=True), "intercept")


def test_float32_gradient_descent_on_float64_inputs_is_caught() -> None:
    assert_flagged(run("gd_mean_f64", compute=np.float32), "coef")


def test_the_gradient_descent_options_are_refused_for_least_squares() -> None:
    for bad in ({"loss": "sum"}, {"steps": 10}, {"lr": 1e-4}):
        with pytest.raises(ValueError, match="gradient_descent"):
            LinRegOptions.build(bad)
    with pytest.raises(ValueError, match="minimum-norm"):
        LinRegOptions.build({"solver": "gradient_descent", "norm_includes_intercept": True})


def test_the_oracle_is_the_minimum_norm_solution_on_collinear_columns() -> None:
    x = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])  # column 1 = 2 * column 0
    y = np.array([1.0, 2.0, 3.0])
    w, b = linear_regression_fit(x, y, LinRegOptions(fit_intercept=False))
    # y = x0 = 0.2 x0 + 0.4 x1 is the fit of least |w| (w proportional to (1, 2))
    np.testing.assert_allclose(w, [0.2, 0.4], rtol=1e-12)
    assert b == 0.0
