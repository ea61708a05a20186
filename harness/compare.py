"""Comparators: decide whether an output agrees with the oracle and measure by how much."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from harness.spec import Case, Inputs, Tolerance

#: ALGORITHMS.md 1.2: float paths get rtol = 10·sqrt(K)·eps(dtype), K = longest reduction.
_EPS = {"float16": 2.0**-11, "float32": 2.0**-24, "float64": 2.0**-53}
_FLOAT64_FLOOR = 1e-10  # the spec's float64-vs-float64 figure; covers summation-order noise


def default_tolerance(dtype: str, reduction: int = 1, scale: float = 1.0) -> Tolerance:
    """Per-dtype default: rtol from the reduction length, atol = rtol x typical magnitude."""
    if dtype not in _EPS:
        return Tolerance(0.0, 0.0, f"{dtype}: compared exactly")
    k = max(int(reduction), 1)
    rtol = 10.0 * math.sqrt(k) * _EPS[dtype]
    reason = f"{dtype} default 10*sqrt(K)*eps with K={k}"
    if dtype == "float64":
        rtol = max(rtol, _FLOAT64_FLOOR)
        reason = f"float64 default max(1e-10, 10*sqrt(K)*eps) with K={k}"
    return Tolerance(rtol, rtol * scale, reason + f", atol = rtol*{scale:g}")


@dataclass(frozen=True)
class Comparison:
    """What a comparator measured: always the errors, whether or not it passed."""

    passed: bool
    detail: str = ""
    mismatches: int = 0
    total: int = 0
    max_abs: float = 0.0
    max_rel: float = 0.0
    worst_index: tuple[int, ...] | None = None
    error_ratio: float = 0.0  # worst |err| / allowed; <= 1 passes, 1 - ratio is the margin
    note: str = ""


class Comparator(Protocol):
    def tolerance(self, case: Case) -> Tolerance: ...

    def expected_dtype(self, case: Case) -> str | None: ...

    def __call__(
        self, actual: Any, expected: Any, inputs: Inputs, case: Case, tol: Tolerance
    ) -> Comparison: ...


def _first_difference_index(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(mask)), mask.shape))


@dataclass(frozen=True)
class Close:
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
            _first_difference_index(bad) if n_bad else _first_difference_index(ratio == ratio.max())
        )
        detail = ""
        if n_bad:
            ai, ei = float(a[worst]), float(e[worst])
            detail = (
                f"{n_bad}/{total} elements differ; first at {worst}: got {ai!r}, "
                f"expected {ei!r}; worst abs {abs_err.max():.3g}, worst rel "
                f"{rel_err.max():.3g} (rtol {tol.rtol:.3g}, atol {tol.atol:.3g})"
            )
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


@dataclass(frozen=True)
class Exact:
    """Bit-for-bit equality of values (integers, indices, counts, booleans)."""

    dtype: str | None = "int64"

    def tolerance(self, case: Case) -> Tolerance:
        return Tolerance(0.0, 0.0, "integers and indices are compared exactly")

    def expected_dtype(self, case: Case) -> str | None:
        return self.dtype

    def __call__(
        self, actual: Any, expected: Any, inputs: Inputs, case: Case, tol: Tolerance
    ) -> Comparison:
        a, e = np.asarray(actual), np.asarray(expected)
        bad = a != e
        n_bad = int(bad.sum())
        if not n_bad:
            return Comparison(True, total=int(e.size))
        idx = _first_difference_index(bad)
        return Comparison(
            False,
            f"{n_bad}/{e.size} values differ; first at {idx}: got "
            f"{a[idx].item()!r}, expected {e[idx].item()!r}",
            n_bad,
            int(e.size),
            worst_index=idx,
            error_ratio=float("inf"),
        )


@dataclass(frozen=True)
class Outputs:
    """Several named outputs, each with its own comparator; reports the worst one."""

    parts: Mapping[str, Comparator] = field(default_factory=dict)

    def tolerance(self, case: Case) -> Tolerance:
        tols = {name: c.tolerance(case) for name, c in self.parts.items()}
        worst = max(tols.values(), key=lambda t: (t.rtol, t.atol))
        reasons = "; ".join(f"{n}: {t.reason}" for n, t in tols.items())
        return Tolerance(worst.rtol, worst.atol, reasons)

    def expected_dtype(self, case: Case) -> str | None:
        return None  # checked per output in ``dtypes``

    def vacuous(self, expected: Any, case: Case) -> bool:
        return any(
            getattr(c, "vacuous", None) is not None and c.vacuous(e, case)  # type: ignore[attr-defined]
            for c, e in zip(self.parts.values(), expected, strict=True)
        )

    def dtypes(self, case: Case) -> dict[str, str | None]:
        return {name: c.expected_dtype(case) for name, c in self.parts.items()}

    def __call__(
        self, actual: Any, expected: Any, inputs: Inputs, case: Case, tol: Tolerance
    ) -> Comparison:
        results = {
            name: comp(a, e, inputs, case, comp.tolerance(case))
            for (name, comp), a, e in zip(self.parts.items(), actual, expected, strict=True)
        }
        failing = {n: r for n, r in results.items() if not r.passed}
        worst_name = max(results, key=lambda n: results[n].error_ratio)
        worst = results[worst_name]
        detail = "; ".join(f"output {n!r}: {r.detail}" for n, r in failing.items())
        return Comparison(
            passed=not failing,
            detail=detail,
            mismatches=sum(r.mismatches for r in results.values()),
            total=sum(r.total for r in results.values()),
            max_abs=max(r.max_abs for r in results.values()),
            max_rel=max(r.max_rel for r in results.values()),
            worst_index=worst.worst_index,
            error_ratio=worst.error_ratio,
            note=f"worst output {worst_name!r}" + (f"; {worst.note}" if worst.note else ""),
        )
