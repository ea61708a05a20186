"""Outputs: several named outputs, each judged by its own comparator; the worst one reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.cases import Case, Inputs, Tolerance
from harness.comparators.base import Comparator, Comparison


@dataclass(frozen=True)
class Outputs(Comparator):
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
        return any(c.vacuous(e, case) for c, e in zip(self.parts.values(), expected, strict=True))

    def dtypes(self, case: Case, outputs: Sequence[str]) -> dict[str, str | None]:
        return {name: self.parts[name].expected_dtype(case) for name in outputs}

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
