"""Partition: clustering outputs where a label may flip only at a near-tie, never elsewhere.

Outputs are (centers, labels, inertia, n_iter), as k-means returns them. Centres and inertia
are compared elementwise (Close); a label may differ from the oracle's only where the point is
within tolerance of equidistant from the two centres involved (measured with the oracle's
centres), because an implementation computing distances in another order or precision may
break such a tie the other way. The iteration count must match unless a label flipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.cases import Case, Inputs, Tolerance
from harness.comparators.base import Comparator, Comparison, default_tolerance
from harness.comparators.close import Close


@dataclass(frozen=True)
class Partition(Comparator):
    """Centres close, labels equal except at near-ties, inertia close, iterations equal."""

    data: str = "x"
    close: Close = field(default_factory=Close)

    def tolerance(self, case: Case) -> Tolerance:
        return self.close.tolerance(case)

    def expected_dtype(self, case: Case) -> str | None:
        return case.dtype

    def dtypes(self, case: Case, outputs: Sequence[str]) -> dict[str, str | None]:
        ints = {"labels", "n_iter"}
        return {name: "int64" if name in ints else case.dtype for name in outputs}

    def vacuous(self, expected: Any, case: Case) -> bool:
        return self.close.vacuous(expected[0], case)

    def __call__(
        self, actual: Any, expected: Any, inputs: Inputs, case: Case, tol: Tolerance
    ) -> Comparison:
        c_got, l_got, inertia_got, it_got = (np.asarray(a) for a in actual)
        c_exp, l_exp, inertia_exp, it_exp = (np.asarray(e) for e in expected)
        x = np.asarray(inputs[self.data], dtype=np.float64)
        k = c_exp.shape[0]
        total = int(l_exp.size)
        if not np.isfinite(c_got).all() and np.isfinite(c_exp).all():
            # a NaN centre is the cause of whatever labels follow: name it first
            centres = self.close(c_got, c_exp, inputs, case, tol)
            return Comparison(False, f"centers: {centres.detail}", **centres.measured())
        if l_got.size and (l_got.min() < 0 or l_got.max() >= k):
            return Comparison(False, f"labels outside [0, {k})", total=total, error_ratio=np.inf)
        flips = np.flatnonzero(l_got != l_exp)
        tie = _near_tie(x, c_exp.astype(np.float64), l_got, l_exp, flips, case)
        if tie:
            return Comparison(False, tie, mismatches=len(flips), total=total, error_ratio=np.inf)
        centres = self.close(c_got, c_exp, inputs, case, tol)
        if not centres.passed:
            return Comparison(False, f"centers: {centres.detail}", **centres.measured())
        inertia = self.close(inertia_got, inertia_exp, inputs, case, tol)
        if not inertia.passed:
            return Comparison(False, f"inertia: {inertia.detail}", **inertia.measured())
        if not len(flips) and int(it_got) != int(it_exp):
            return Comparison(
                False,
                f"n_iter {int(it_got)} but the oracle converged after {int(it_exp)} with the "
                "same labels",
                total=total,
                error_ratio=np.inf,
            )
        note = f"{len(flips)} labels differ, each at a near-tie" if len(flips) else ""
        return Comparison(
            True,
            mismatches=len(flips),
            total=total,
            max_abs=max(centres.max_abs, inertia.max_abs),
            max_rel=max(centres.max_rel, inertia.max_rel),
            error_ratio=max(centres.error_ratio, inertia.error_ratio),
            note=note,
        )


def _near_tie(
    x: np.ndarray,
    centres: np.ndarray,
    got: np.ndarray,
    want: np.ndarray,
    flips: np.ndarray,
    case: Case,
) -> str:
    """'' when every differing label is a near-tie under the oracle's centres."""
    if not len(flips):
        return ""
    xi = x[flips]
    d_got = np.sum((xi - centres[got[flips]]) ** 2, axis=1)
    d_want = np.sum((xi - centres[want[flips]]) ** 2, axis=1)
    scale = np.sum(xi**2, axis=1) + np.sum(centres[got[flips]] ** 2, axis=1)
    rtol = default_tolerance(case.dtype, max(x.shape[1], 1)).rtol
    bad = np.abs(d_got - d_want) > rtol * scale
    if not bad.any():
        return ""
    i = int(flips[np.argmax(bad)])
    j = int(np.argmax(bad))
    return (
        f"{int(bad.sum())}/{len(x)} labels differ away from any tie; first point {i}: label "
        f"{int(got[i])} (squared distance {d_got[j]:.6g}) where the nearest centre is "
        f"{int(want[i])} ({d_want[j]:.6g})"
    )
