"""The comparator contract: what every comparator measures and the one interface it offers."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from harness.cases import Case, Inputs, Tolerance

#: ALGORITHMS.md 1.2: float paths get rtol = 10·sqrt(K)·eps(dtype), K = longest reduction.
EPS = {"float16": 2.0**-11, "float32": 2.0**-24, "float64": 2.0**-53}
_FLOAT64_FLOOR = 1e-10  # the spec's float64-vs-float64 figure; covers summation-order noise


def default_tolerance(dtype: str, reduction: int = 1, scale: float = 1.0) -> Tolerance:
    """Per-dtype default: rtol from the reduction length, atol = rtol x typical magnitude."""
    if dtype not in EPS:
        return Tolerance(0.0, 0.0, f"{dtype}: compared exactly")
    k = max(int(reduction), 1)
    rtol = 10.0 * math.sqrt(k) * EPS[dtype]
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

    def measured(self) -> dict[str, Any]:
        """The measured error, as the verdict records it."""
        return {
            "mismatches": self.mismatches,
            "total": self.total,
            "max_abs": self.max_abs,
            "max_rel": self.max_rel,
            "worst_index": self.worst_index,
            "error_ratio": self.error_ratio,
        }


class Comparator(ABC):
    """Decides whether an implementation's output agrees with the oracle's, and by how much.

    ``compares_shape``: the output's shape may legitimately differ from the oracle's (a set
    of kept indices) and the comparator checks it itself. ``vacuous``: the case cannot tell
    a right answer from an all-zero one (a suite bug, reported as an error).
    """

    compares_shape: ClassVar[bool] = False

    @abstractmethod
    def tolerance(self, case: Case) -> Tolerance: ...

    @abstractmethod
    def expected_dtype(self, case: Case) -> str | None: ...

    def dtypes(self, case: Case, outputs: Sequence[str]) -> dict[str, str | None]:
        """The dtype each named output must have (None: not checked)."""
        return {name: self.expected_dtype(case) for name in outputs}

    def vacuous(self, expected: Any, case: Case) -> bool:
        return False

    @abstractmethod
    def __call__(
        self, actual: Any, expected: Any, inputs: Inputs, case: Case, tol: Tolerance
    ) -> Comparison: ...


def first_difference_index(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(mask)), mask.shape))
