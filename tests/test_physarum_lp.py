"""Pitfalls of the Physarum LP dynamics that its suite must catch, and two properties of
the oracle: every step's q satisfies A q = b, and converged runs reach linprog's optimum.

Each pitfall test runs a deliberately wrong variant through ``verify`` on the case that
exposes the mistake and asserts the verdict fails (or errors) with a diagnosis; the variant
with no mistake passes those cases. Cases use the suite's default seed (not tuned to these
tests); the property tests use seeds 0..2, the first ones tried.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from scipy.optimize import linprog

from harness.registry import Implementation
from harness.spec import Case, ErrorCase
from harness.verify import Verdict, verify
from implementations.physarum_lp.xp_reduced import physarum_lp as xp_physarum
from suites.physarum_lp import SUITE, check, check_feasible, check_orthant, physarum_lp


@dataclass(frozen=True)
class Mistakes:
    """What the variant gets wrong; all False is a correct implementation."""

    w_times_c: bool = False  # W = diag(x c) instead of diag(x / c)
    swapped_step: bool = False  # x <- h x + (1 - h) q
    ones_start: bool = False  # x0 ignored, the dynamics starts at 1
    stop_before_step: bool = False  # returns the iterate before the step that met tol
    plain_inverse: bool = False  # np.linalg.solve: a rank-deficient A breaks it
    float32_math: bool = False  # the whole run in float32
    no_feasibility_check: bool = False  # b outside the range of A runs anyway
    x0_in_place: bool = False  # the iterate kept in x0's buffer
    stale_past: int = 0  # > 0: weights of variables past this index stay at the start


def variant(m: Mistakes) -> Callable[..., Any]:
    def run(A: Any, b: Any, c: Any, x0: Any, h: Any, tol: Any, max_iter: Any) -> Any:
        check(A, b, c, x0, h, tol, max_iter)
        dt = np.float32 if m.float32_math else np.float64
        A, b, c = (np.asarray(v, dtype=dt) for v in (A, b, c))
        if not m.no_feasibility_check:
            check_feasible(A.astype(np.float64), b.astype(np.float64))
        x = x0 if m.x0_in_place else np.asarray(x0, dtype=dt)
        if m.ones_start:
            x = np.ones_like(x)
        w0 = x / c
        for _ in range(int(max_iter)):
            w = x * c if m.w_times_c else x / c
            if m.stale_past:
                w[m.stale_past :] = w0[m.stale_past :]
            M = (A * w) @ A.T
            if not A.shape[0]:
                p = b
            elif m.plain_inverse:
                p = np.linalg.solve(M, b)
            else:
                p = np.linalg.pinv(M, rcond=1e-10, hermitian=True) @ b
            q = w * (A.T @ p)
            new = h * x + (1 - h) * q if m.swapped_step else (1 - h) * x + h * q
            check_orthant(new, np)
            done = np.abs(new - x).sum() <= tol * np.abs(x).sum()
            if done and m.stop_before_step:
                break
            if m.x0_in_place:
                x[...] = new
            else:
                x = new
            if done:
                break
        return np.asarray(x, dtype=np.float64)

    return run


def run(name: str, **mistakes: Any) -> Verdict:
    impl = Implementation("physarum_lp", "numpy", "pitfall", variant(Mistakes(**mistakes)))
    found = SUITE.find_case(name)
    assert isinstance(found, Case | ErrorCase)
    return verify(SUITE, impl, found)


CORRECT_ON = [
    "random_f64",
    "step_09_random_start",
    "stop_on_tol",
    "multi_block",
    "rank_deficient",
    "converged",
    "infeasible_range",
]


@pytest.mark.parametrize("name", CORRECT_ON)
def test_the_variant_without_mistakes_passes(name: str) -> None:
    v = run(name)
    assert v.status == "pass", v.detail


# (mistake, value, the case that exposes it, text the diagnosis must contain)
PITFALLS = [
    ("w_times_c", True, "random_f64", "differs"),
    ("swapped_step", True, "step_09_random_start", "differs"),
    ("ones_start", True, "step_09_random_start", "differs"),
    ("stop_before_step", True, "stop_on_tol", "differs"),
    ("plain_inverse", True, "rank_deficient", "Singular matrix"),
    ("float32_math", True, "random_f64", "differs"),
    ("no_feasibility_check", True, "infeasible_range", "must raise ValueError"),
    ("x0_in_place", True, "random_f64", "modified its input"),
    ("stale_past", 256, "multi_block", "differs"),
]


@pytest.mark.parametrize(("mistake", "value", "name", "diagnosis"), PITFALLS)
def test_the_suite_catches(mistake: str, value: Any, name: str, diagnosis: str) -> None:
    v = run(name, **{mistake: value})
    assert v.status in ("fail", "error"), f"{mistake} passed {name}"
    assert diagnosis in v.detail, v.detail


def test_blocked_mistake_passes_within_its_first_block() -> None:
    """Stale weights past variable 256 are harmless with fewer variables."""
    assert run("random_f64", stale_past=256).status == "pass"


def _lp(seed: int, m: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    A = rng.random((m, n))
    return A, A @ (rng.random(n) + 0.1), rng.uniform(0.5, 1.5, n)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_step_shrinks_the_constraint_residual_by_one_minus_h(seed: int) -> None:
    """A q = b (q is the W^-1-weighted least-norm solution), so A x_1 - b is exactly
    (1 - h) (A x0 - b)."""
    A, b, c = _lp(seed, 5, 14)
    x0 = np.random.default_rng(seed).uniform(0.5, 2.0, 14)
    for fn in (physarum_lp, xp_physarum):
        x1 = fn(A, b, c, x0, 0.5, 0.0, 1)
        np.testing.assert_allclose(A @ x1 - b, 0.5 * (A @ x0 - b), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_converged_runs_reach_the_linprog_optimum(seed: int) -> None:
    A, b, c = _lp(seed, 3, 8)
    x = physarum_lp(A, b, c, np.ones(8), 0.5, 1e-11, 3000)
    best = linprog(c, A_eq=A, b_eq=b, bounds=(0, None), method="highs").fun
    assert abs(c @ x - best) <= 1e-6 * abs(best)


def test_no_nonnegative_solution_is_refused_by_both() -> None:
    A, b, c = _lp(0, 3, 9)
    for fn in (physarum_lp, xp_physarum):
        with pytest.raises(ValueError, match="infeasible"):
            fn(A, -b, c, np.ones(9), 0.5, 0.0, 20)
