"""Each: a list of arrays (one per parameter) judged array by array with one comparator."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from harness.cases import Case, Inputs, Tolerance
from harness.comparators.base import Comparator, Comparison
from harness.comparators.close import Close


@dataclass(frozen=True)
class Each(Comparator):
    """Lists of equal length whose i-th arrays agree under ``part``; the worst one reports."""

    part: Comparator = field(default_factory=Close)
    compares_shape: ClassVar[bool] = False  # the harness checks each array's shape and dtype

    def tolerance(self, case: Case) -> Tolerance:
        return self.part.tolerance(case)

    def expected_dtype(self, case: Case) -> str | None:
        return self.part.expected_dtype(case)

    def dtypes(self, case: Case, outputs: Sequence[str]) -> dict[str, str | None]:
        return self.part.dtypes(case, outputs)

    def vacuous(self, expected: Any, case: Case) -> bool:
        return any(self.part.vacuous(e, case) for e in expected)

    def __call__(
        self, actual: Any, expected: Any, inputs: Inputs, case: Case, tol: Tolerance
    ) -> Comparison:
        results = [
            self.part(a, e, inputs, case, tol) for a, e in zip(actual, expected, strict=True)
        ]
        if not results:
            return Comparison(True)
        failing = [(i, r) for i, r in enumerate(results) if not r.passed]
        worst = max(range(len(results)), key=lambda i: results[i].error_ratio)
        detail = "; ".join(f"[{i}]: {r.detail}" for i, r in failing[:3])
        return Comparison(
            not failing,
            detail,
            mismatches=sum(r.mismatches for r in results),
            total=sum(r.total for r in results),
            max_abs=max(r.max_abs for r in results),
            max_rel=max(r.max_rel for r in results),
            worst_index=(worst, *(results[worst].worst_index or ())),
            error_ratio=results[worst].error_ratio,
            note=f"{len(results)} arrays; worst [{worst}]",
        )
