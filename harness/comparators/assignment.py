"""Assignment: any optimal matching passes; it must be valid and reach the optimal total cost.

Linear assignment may have several optima (all-equal costs, ties), so indices are never
compared with the oracle's: the comparator checks that the rows and columns form a valid
matching of min(N, M) pairs, rows ascending (scipy's convention), no forbidden (+inf) pair,
and that its total cost equals the oracle's optimum to within a tolerance that grows with the
number of terms summed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from harness.cases import Case, Inputs, Tolerance
from harness.comparators.base import EPS, Comparator, Comparison


def _fail(detail: str, total: int) -> Comparison:
    return Comparison(False, detail, total=total, error_ratio=float("inf"))


@dataclass(frozen=True)
class Assignment(Comparator):
    """Outputs (rows, cols) judged by validity and total cost, not by the indices chosen."""

    cost: str = "cost"
    maximize: Callable[[Case], bool] = lambda case: False
    compares_shape: ClassVar[bool] = True

    def tolerance(self, case: Case) -> Tolerance:
        if case.dtype not in EPS:
            return Tolerance(0.0, 0.0, f"{case.dtype} costs: the optimal total is exact")
        k = max(int(case.params.get("n", 1)), int(case.params.get("m", 1)), 1)
        rtol = 10.0 * math.sqrt(k) * EPS[case.dtype]
        return Tolerance(
            max(rtol, 1e-12),
            0.0,
            f"total cost is a sum of up to K={k} {case.dtype} terms: 10*sqrt(K)*eps relative "
            "to the sum of the |costs| selected; any optimal matching is accepted",
        )

    def expected_dtype(self, case: Case) -> str | None:
        return "int64"

    def __call__(
        self, actual: Any, expected: Any, inputs: Inputs, case: Case, tol: Tolerance
    ) -> Comparison:
        cost = np.asarray(inputs[self.cost], dtype=np.float64)
        n, m = cost.shape
        want = min(n, m)
        try:
            rows, cols = (np.asarray(x) for x in actual)
        except (TypeError, ValueError):
            return _fail(f"must return (rows, cols), got {type(actual).__name__}", want)
        problem = _validity(rows, cols, n, m)
        if problem:
            return _fail(problem, want)
        r, c = rows.astype(np.int64), cols.astype(np.int64)
        chosen = cost[r, c]
        if np.isinf(chosen).any():
            at = int(np.flatnonzero(np.isinf(chosen))[0])
            return _fail(f"pair ({r[at]}, {c[at]}) has a forbidden (infinite) cost", want)
        er, ec = (np.asarray(x, dtype=np.int64) for x in expected)
        best, got = float(cost[er, ec].sum()), float(chosen.sum())
        allowed = tol.atol + tol.rtol * float(np.abs(cost[er, ec]).sum())
        gap = got - best if not self.maximize(case) else best - got
        ratio = abs(gap) / allowed if allowed > 0 else (0.0 if gap == 0 else float("inf"))
        same = int(np.sum((r == er) & (c == ec))) if len(r) == len(er) else 0
        note = f"total {got!r} vs optimum {best!r}; {want - same} of {want} pairs differ"
        if gap > allowed:
            return Comparison(
                False,
                f"not optimal: total cost {got!r}, the optimum is {best!r} "
                f"(off by {gap:.3g}, allowed {allowed:.3g})",
                mismatches=want - same,
                total=want,
                max_abs=abs(gap),
                error_ratio=ratio,
            )
        if gap < -allowed:
            return Comparison(
                False,
                f"better than the oracle's optimum ({got!r} vs {best!r}): the oracle is wrong "
                "or the matching is invalid",
                total=want,
                max_abs=abs(gap),
                error_ratio=ratio,
            )
        return Comparison(True, total=want, max_abs=abs(gap), error_ratio=ratio, note=note)


def _validity(rows: np.ndarray, cols: np.ndarray, n: int, m: int) -> str:
    """'' when (rows, cols) is a matching of min(n, m) pairs with rows ascending."""
    want = min(n, m)
    if rows.ndim != 1 or cols.ndim != 1 or len(rows) != len(cols):
        return f"rows and cols must be 1-D of equal length, got {rows.shape} and {cols.shape}"
    if len(rows) != want:
        return f"a {n}x{m} problem assigns {want} pairs, got {len(rows)}"
    for name, idx, size in (("rows", rows, n), ("cols", cols, m)):
        if idx.size and (idx.dtype.kind not in "iu"):
            return f"{name} must be integers, got dtype {idx.dtype}"
        if idx.size and (idx.min() < 0 or idx.max() >= size):
            return f"{name} out of range [0, {size})"
        if len(np.unique(idx)) != len(idx):
            return f"{name} repeat an index: not a matching"
    if np.any(np.diff(rows) <= 0):
        return "rows must be strictly ascending (scipy's convention)"
    return ""
