"""sinkhorn_ot: the suite catches each classic mistake, and its oracle agrees with POT.

Every wrong variant below is the plain NumPy Sinkhorn iteration with one mistake; verify must
flag it with a diagnosis that names what went wrong, while the same iteration without the
mistake passes the same case. No randomness beyond the suite's seeded cases.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import ot
import pytest
from scipy.optimize import linear_sum_assignment

from harness.prepare import case_cost
from harness.registry import Implementation
from harness.spec import Case, ErrorCase
from harness.verify import Verdict, case_inputs, oracle_output, verify
from suites.sinkhorn_ot import (
    ARGS,
    MAX_ITER,
    STOP_FLOAT64,
    SUITE,
    SinkhornOptions,
    log_domain,
    oracle_iterations,
    scaling,
    stop_threshold,
)

Fn = Callable[[Any, Any, Any, Any, SinkhornOptions], Any]


def run(fn: Fn, case: str | Case) -> Verdict:
    impl = Implementation("sinkhorn_ot", "numpy", fn.__name__, fn)
    return verify(SUITE, impl, SUITE.find_case(case) if isinstance(case, str) else case)


def iterate(
    a: Any,
    b: Any,
    M: Any,
    reg: Any,
    *,
    tol: float | None = None,
    iterations: int = MAX_ITER,
    kernel: Callable[[Any, float], Any] = lambda M, reg: np.exp(-M / reg),
    dtype: Any = None,
) -> Any:
    """The scaling iteration (POT's order and stopping rule); the keywords inject mistakes."""
    dtype = dtype or ARGS.check(a, b, M, reg)
    a, b, M = (np.asarray(x, dtype=dtype) for x in (a, b, M))
    tol = stop_threshold(dtype) if tol is None else tol
    n, m = M.shape
    K = kernel(M, reg)
    u, v = np.full(n, 1 / n, dtype), np.full(m, 1 / m, dtype)
    for it in range(iterations):
        v = b / (K.T @ u)
        u = a / (K @ v)
        if it % 10 == 0 and np.linalg.norm(v * (K.T @ u) - b) < tol:
            break
    return u[:, None] * K * v[None, :]


def correct(a: Any, b: Any, M: Any, reg: Any, opts: SinkhornOptions) -> Any:
    if not (len(a) and len(b)):
        return np.zeros((len(a), len(b)), dtype=ARGS.check(a, b, M, reg))
    return iterate(a, b, M, reg)


def square_case() -> Case:
    """Square, with a != b: swapping the marginals changes the answer."""
    return SUITE.resolve(Case("square_f64", {"n": 40, "m": 40}, {}, "custom"))


# ---- stopping before the stated tolerance --------------------------------------------------


def loose_tolerance(a: Any, b: Any, M: Any, reg: Any, opts: SinkhornOptions) -> Any:
    return iterate(a, b, M, reg, tol=1e-3)


def ten_iterations(a: Any, b: Any, M: Any, reg: Any, opts: SinkhornOptions) -> Any:
    return iterate(a, b, M, reg, iterations=10)


@pytest.mark.parametrize("fn", [loose_tolerance, ten_iterations])
def test_stopping_early_is_not_converged(fn: Fn) -> None:
    assert run(correct, "random_f64").status == "pass"
    v = run(fn, "random_f64")
    assert v.status == "fail"
    assert "not converged" in v.detail and "columns" in v.detail


# ---- the wrong problem: swapped marginals, exp(-M·reg) --------------------------------------


def swapped_marginals(a: Any, b: Any, M: Any, reg: Any, opts: SinkhornOptions) -> Any:
    return iterate(b, a, M, reg)


def kernel_times_reg(a: Any, b: Any, M: Any, reg: Any, opts: SinkhornOptions) -> Any:
    """K = exp(-M·ε) instead of exp(-M/ε): Sinkhorn still balances it, to the wrong plan."""
    return iterate(a, b, M, reg, kernel=lambda M, reg: np.exp(-M * reg))


def test_swapped_marginals_fail_on_the_rows() -> None:
    assert run(correct, square_case()).status == "pass"
    v = run(swapped_marginals, square_case())
    assert v.status == "fail"
    assert "not converged" in v.detail and "(rows)" in v.detail


def test_kernel_times_reg_converges_to_the_wrong_plan() -> None:
    v = run(kernel_times_reg, "random_f64")
    assert v.status == "fail"
    assert "marginals converged but the plan differs" in v.detail


# ---- a plan with negative entries -----------------------------------------------------------


def negative_entries(a: Any, b: Any, M: Any, reg: Any, opts: SinkhornOptions) -> Any:
    """A fix-up that moves mass around a 2x2 cycle: marginals kept, one entry below zero."""
    plan = iterate(a, b, M, reg)
    shift = plan[0, 1] + 1e-3
    plan[[0, 1], [0, 1]] += shift
    plan[[0, 1], [1, 0]] -= shift
    return plan


def test_negative_entries_fail() -> None:
    v = run(negative_entries, "random_f64")
    assert v.status == "fail"
    assert "negative mass in the plan" in v.detail


# ---- the scaling method's underflow must be diagnosed -----------------------------------------


def silent_underflow(a: Any, b: Any, M: Any, reg: Any, opts: SinkhornOptions) -> Any:
    """No check on K: a row of exp(-M/reg) that underflows to 0 turns into NaN, returned."""
    with np.errstate(all="ignore"):
        return iterate(a, b, M, reg)


def test_scaling_underflow_must_raise() -> None:
    err = SUITE.find_case("outlier_scaling_underflows")
    assert isinstance(err, ErrorCase)
    inputs = case_inputs(SUITE, err.as_case())
    M, reg = inputs["M"], inputs["reg"]
    assert (np.exp(-M / reg).max(axis=1) == 0).any(), "a whole row must underflow"
    v = run(silent_underflow, err)  # type: ignore[arg-type]
    assert v.status == "fail"
    assert "must raise ValueError" in v.detail and "returned normally" in v.detail
    with pytest.raises(ValueError, match="underflow"):
        scaling(inputs["a"], inputs["b"], M, reg)
    plan, _ = log_domain(inputs["a"], inputs["b"], M, reg)  # same inputs: the log domain works
    assert np.isfinite(plan).all() and abs(plan.sum() - 1.0) < 1e-12


# ---- shapes, aliasing, precision, blocks ------------------------------------------------------


def square_empty(a: Any, b: Any, M: Any, reg: Any, opts: SinkhornOptions) -> Any:
    n = max(len(a), len(b))
    return np.zeros((n, n)) if not (len(a) and len(b)) else iterate(a, b, M, reg)


def row_of_b(a: Any, b: Any, M: Any, reg: Any, opts: SinkhornOptions) -> Any:
    """One source sends b itself: right values, but the caller gets a view of its input."""
    return b[None, :] if len(a) == 1 else iterate(a, b, M, reg)


def float32_inside(a: Any, b: Any, M: Any, reg: Any, opts: SinkhornOptions) -> Any:
    """float32 arithmetic aiming at the float64 tolerance (it runs all 1,000 iterations)."""
    dtype = ARGS.check(a, b, M, reg)
    return iterate(a, b, M, reg, dtype=np.float32, tol=STOP_FLOAT64).astype(dtype)


def first_block_only(a: Any, b: Any, M: Any, reg: Any, opts: SinkhornOptions) -> Any:
    """Blocked rows of 256 whose later blocks never leave the start u = 1/n."""
    K = np.exp(-M / reg)
    n, m = K.shape
    u, v = np.full(n, 1 / n), np.full(m, 1 / m)
    for it in range(MAX_ITER):
        v = b / (K.T @ u)
        u[:256] = a[:256] / (K[:256] @ v)
        if it % 10 == 0 and np.linalg.norm(v * (K.T @ u) - b) < STOP_FLOAT64:
            break
    return u[:, None] * K * v[None, :]


def test_wrong_shape_on_an_empty_side() -> None:
    assert run(correct, "empty_a").status == "pass"
    v = run(square_empty, "empty_a")
    assert v.status == "fail"
    assert "has shape (5, 5), expected (0, 5)" in v.detail


def test_a_view_of_an_input_is_refused() -> None:
    v = run(row_of_b, "single_source")
    assert v.status == "fail"
    assert "shares memory with input 'b'" in v.detail


def test_float32_arithmetic_on_float64_inputs_fails() -> None:
    # At unit mass float32 round-off (~2⁻²⁴·|b|₂) sits just inside the 1e-8 limit; 250 units
    # of mass lift it far above
    v = run(float32_inside, "mass_250_f64")
    assert v.status == "fail"
    assert "not converged" in v.detail


def test_a_blocked_kernel_wrong_past_its_first_block() -> None:
    assert run(first_block_only, "random_f64").status == "pass"
    v = run(first_block_only, "multi_block")
    assert v.status == "fail"
    assert "(rows)" in v.detail


# ---- the oracle: POT's iteration, its count, eps -> 0 -----------------------------------------


@pytest.mark.parametrize("case_name", ["random_f64", "log_f64"])
def test_oracle_is_pot_iterate_for_iterate(case_name: str) -> None:
    case = SUITE.find_case(case_name)
    assert isinstance(case, Case)
    inputs = case_inputs(SUITE, case)
    method = SinkhornOptions.build(case.options).method
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # POT converges here: no warning
        want, log = ot.sinkhorn(*inputs.values(), method=method, log=True)
    solve = scaling if method == "sinkhorn" else log_domain
    got, iterations = solve(*inputs.values())
    assert iterations == log["niter"] + 1  # POT logs the index of its last iteration
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-15)


def test_cost_reads_the_oracles_iteration_count() -> None:
    case = SUITE.find_case("multi_block")
    assert isinstance(case, Case)
    plan = oracle_output(SUITE, case)
    iterations = oracle_iterations(case, plan)
    assert iterations == scaling(*case_inputs(SUITE, case).values())[1]
    cost = case_cost(SUITE, case)
    assert cost.items == iterations
    assert cost.flops == (4 * iterations + 4) * 300 * 280


def test_tiny_eps_gives_the_optimal_assignment() -> None:
    """ε -> 0 with uniform square marginals: the plan is a permutation / n (as ot.emd)."""
    for name in ("tiny_eps_assignment", "tiny_eps_assignment_log"):
        case = SUITE.find_case(name)
        assert isinstance(case, Case)
        cost = case_inputs(SUITE, case)["M"]
        rows, cols = linear_sum_assignment(cost)
        want = np.zeros(cost.shape)
        want[rows, cols] = 1.0 / len(rows)
        np.testing.assert_allclose(oracle_output(SUITE, case), want, atol=1e-12)
