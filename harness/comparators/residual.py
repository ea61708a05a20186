"""Residual: an iterative solver's answer judged by how well it satisfies its equations.

For optimal transport the plan P must be nonnegative and its marginals must match a and b to
within the convergence tolerance the case states (an implementation that stops early fails
here, whatever its plan looks like); then P must be close to the oracle's plan, within what a
residual of that size can move it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.cases import Case, Inputs, Tolerance
from harness.comparators.base import Comparator, Comparison, default_tolerance
from harness.comparators.close import Close


@dataclass(frozen=True)
class Marginals(Comparator):
    """Plan P (N, M): P >= 0, |P·1 - a|_2 and |Pᵀ·1 - b|_2 within ``residual(case)``, and
    P elementwise close to the oracle's (atol = the stated residual, rtol per dtype)."""

    a: str = "a"
    b: str = "b"
    residual: Callable[[Case], float] = lambda case: 1e-9
    slack: float = 10.0  # the stopping rule is checked every few iterations, not every one

    def tolerance(self, case: Case) -> Tolerance:
        limit = self.residual(case) * self.slack
        base = default_tolerance(case.dtype, int(case.params.get("m", 1)))
        return Tolerance(
            base.rtol,
            limit,
            f"marginal residuals (L2) within {self.slack:g} x the stated convergence "
            f"tolerance {self.residual(case):g}; plan entries within that atol plus "
            f"{base.reason}",
        )

    def expected_dtype(self, case: Case) -> str | None:
        return case.dtype

    def vacuous(self, expected: Any, case: Case) -> bool:
        return False  # the marginals are checked against the inputs, never against zero

    def __call__(
        self, actual: Any, expected: Any, inputs: Inputs, case: Case, tol: Tolerance
    ) -> Comparison:
        plan = np.asarray(actual, dtype=np.float64)
        a = np.asarray(inputs[self.a], dtype=np.float64)
        b = np.asarray(inputs[self.b], dtype=np.float64)
        total = int(plan.size)
        if total == 0:
            return Comparison(True, total=0)  # an empty plan has nothing to transport
        if np.isnan(plan).any():
            return Comparison(False, "the plan contains NaN", total=total, error_ratio=np.inf)
        if (plan < -tol.atol).any():
            return Comparison(
                False,
                f"negative mass in the plan: min {plan.min():.3g}",
                total=total,
                error_ratio=np.inf,
            )
        rows = float(np.linalg.norm(plan.sum(axis=1) - a))
        cols = float(np.linalg.norm(plan.sum(axis=0) - b))
        worst = max(rows, cols)
        ratio = worst / tol.atol if tol.atol > 0 else (0.0 if worst == 0 else np.inf)
        if worst > tol.atol:
            return Comparison(
                False,
                f"not converged: marginal residuals {rows:.3g} (rows) and {cols:.3g} (columns) "
                f"exceed {tol.atol:.3g} ({self.slack:g} x the stated tolerance)",
                total=total,
                max_abs=worst,
                error_ratio=ratio,
            )
        close = Close()(plan, expected, inputs, case, tol)
        return Comparison(
            close.passed,
            f"marginals converged but the plan differs: {close.detail}" if close.detail else "",
            mismatches=close.mismatches,
            total=total,
            max_abs=close.max_abs,
            max_rel=close.max_rel,
            worst_index=close.worst_index,
            error_ratio=max(close.error_ratio, ratio),
            note=f"marginal residuals {rows:.3g} (rows), {cols:.3g} (columns)",
        )
