"""Exact: bit-for-bit equality of integers, indices, counts and booleans."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.cases import Case, Inputs, Tolerance
from harness.comparators.base import Comparator, Comparison, first_difference_index


@dataclass(frozen=True)
class Exact(Comparator):
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
        if a.shape != e.shape:  # a wrong shape is this output's failure, never a crash
            return Comparison(
                False, f"shape {a.shape}, expected {e.shape}", int(e.size), int(e.size),
                error_ratio=float("inf"),
            )  # fmt: skip
        bad = a != e
        n_bad = int(bad.sum())
        if not n_bad:
            return Comparison(True, total=int(e.size))
        idx = first_difference_index(bad)
        return Comparison(
            False,
            f"{n_bad}/{e.size} values differ; first at {idx}: got "
            f"{a[idx].item()!r}, expected {e[idx].item()!r}",
            n_bad,
            int(e.size),
            worst_index=idx,
            error_ratio=float("inf"),
        )
