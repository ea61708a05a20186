"""Close: elementwise agreement within a per-dtype, reduction-aware (rtol, atol) pair."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.cases import Case, Inputs, Tolerance
from harness.comparators.base import (
    Comparator,
    Comparison,
    default_tolerance,
    first_difference_index,
)


@dataclass(frozen=True)
class Close(Comparator):
    """Elementwise |a - e| <= atol + rtol·|e|; NaN where (and only where) the oracle has NaN.

    ``reduction(case)`` gives the longest reduction length K; ``scale(case)`` the typical
    output magnitude for the matching atol; ``override(case)`` replaces the default with a
    justified tolerance (return None to keep the default).
    """

    reduction: Callable[[Case], int] = lambda case: 1
    scale: Callable[[Case], float] = lambda case: 1.0
    override: Callable[[Case], Tolerance | None] = lambda case: None

    def tolerance(self, case: Case) -> Tolerance:
        return self.override(case) or default_tolerance(
            case.dtype, self.reduction(case), self.scale(case)
        )

    def expected_dtype(self, case: Case) -> str | None:
        return case.dtype

    def vacuous(self, expected: Any, case: Case) -> bool:
        """True when an all-zero answer would pass although the oracle is not all zero."""
        tol = self.tolerance(case)
        e = np.asarray(expected, dtype=np.float64)
        finite = e[np.isfinite(e)]
        if finite.size == 0 or not np.any(finite != 0):
            return False
        return bool(np.all(np.abs(finite) <= tol.atol + tol.rtol * np.abs(finite)))

    def __call__(
        self, actual: Any, expected: Any, inputs: Inputs, case: Case, tol: Tolerance
    ) -> Comparison:
        a = np.asarray(actual, dtype=np.float64)
        e = np.asarray(expected, dtype=np.float64)
        total = int(e.size)
        if total == 0:
            return Comparison(True, total=0)
        nan_e, nan_a = np.isnan(e), np.isnan(a)
        inf_mismatch = (np.isinf(e) | np.isinf(a)) & (a != e) & ~nan_e & ~nan_a
        finite = np.isfinite(e) & np.isfinite(a)
        with np.errstate(invalid="ignore", over="ignore"):
            abs_err = np.where(finite, np.abs(a - e), 0.0)
            allowed = tol.atol + tol.rtol * np.abs(np.where(finite, e, 0.0))
            ratio = np.where(finite, abs_err / np.where(allowed > 0, allowed, np.inf), 0.0)
            ratio = np.where(finite & (allowed == 0) & (abs_err > 0), np.inf, ratio)
            rel_err = np.where(finite & (e != 0), abs_err / np.abs(np.where(e != 0, e, 1)), 0.0)
        bad = (nan_e != nan_a) | inf_mismatch | (finite & (abs_err > allowed))
        n_bad = int(bad.sum())
        worst = (
            first_difference_index(bad) if n_bad else first_difference_index(ratio == ratio.max())
        )
        detail = _diagnose(a, e, bad, nan_e != nan_a, inf_mismatch, abs_err, rel_err, tol)
        return Comparison(
            passed=n_bad == 0,
            detail=detail,
            mismatches=n_bad,
            total=total,
            max_abs=float(abs_err.max()),
            max_rel=float(rel_err.max()),
            worst_index=worst,
            error_ratio=float(ratio.max())
            if not n_bad
            else float("inf")
            if np.any((nan_e != nan_a) | inf_mismatch)
            else float(ratio.max()),
        )


def _diagnose(
    a: np.ndarray,
    e: np.ndarray,
    bad: np.ndarray,
    nan_mismatch: np.ndarray,
    inf_mismatch: np.ndarray,
    abs_err: np.ndarray,
    rel_err: np.ndarray,
    tol: Tolerance,
) -> str:
    """One line: how many differ, the first one, and NaN/inf mismatches named as such."""
    n_bad = int(bad.sum())
    if not n_bad:
        return ""
    first = first_difference_index(bad)
    got, want = float(a[first]), float(e[first])
    parts = [f"{n_bad}/{e.size} elements differ; first at {first}: got {got!r}, expected {want!r}"]
    n_nan, n_inf = int(nan_mismatch.sum()), int(inf_mismatch.sum())
    got_nan = int((nan_mismatch & np.isnan(a)).sum())
    if got_nan:
        parts.append(f"{got_nan} NaN where the oracle has a number")
    if n_nan - got_nan:
        parts.append(f"{n_nan - got_nan} numbers where the oracle has NaN")
    if n_inf:
        parts.append(f"{n_inf} infinite values that differ")
    finite_bad = int(n_bad - n_nan - n_inf)
    if finite_bad:
        parts.append(
            f"{finite_bad} finite values off: worst abs {abs_err.max():.3g}, worst rel "
            f"{rel_err.max():.3g} (rtol {tol.rtol:.3g}, atol {tol.atol:.3g})"
        )
    return "; ".join(parts)
