"""Statistical verdicts: where only distributions can agree (each library's own generator).

The oracle returns a ``Law``: the distribution every value should follow, the output's shape
and exact bounds, and a plausible wrong alternative (a gain off by sqrt(2), fan_out for
fan_in). The comparator runs a named test (Kolmogorov-Smirnov for continuous laws, a
binomial test for keep rates) on the implementation's draw at a fixed significance level
``alpha``, so a correct implementation fails at rate alpha by design; the verdict reports the
p-value and the power against the alternative, estimated from seeded draws of the same size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from harness.cases import Case, Inputs, Tolerance
from harness.comparators.base import Comparator, Comparison

#: Significance level of every statistical verdict: a correct implementation fails one cell
#: in a thousand. Small enough that a suite of a few hundred statistical cells rarely sees a
#: false alarm; the fixed seeds make any given run reproducible.
ALPHA = 1e-3


@dataclass(frozen=True)
class Law:
    """What a random output must look like: shape, distribution, exact bounds, and the wrong
    alternative the test must tell apart (both scipy.stats frozen distributions)."""

    shape: tuple[int, ...]
    dist: Any
    alternative: Any
    bound: float | None = None  # |value| <= bound exactly (uniform laws)
    describe: str = ""


def ks_pvalue(sample: np.ndarray, dist: Any) -> float:
    from scipy import stats

    return float(stats.kstest(sample, dist.cdf).pvalue)


_POWER: dict[str, float] = {}


def _frozen_key(d: Any) -> str:
    return f"{d.dist.name}{d.args}{sorted(d.kwds.items())}"


def power(law: Law, n: int, draws: int, alpha: float) -> float:
    """Share of seeded samples of size n from the alternative that the KS test rejects."""
    key = f"{_frozen_key(law.alternative)}|{_frozen_key(law.dist)}|{n}|{draws}|{alpha}"
    if key not in _POWER:
        rng = np.random.default_rng(20261201)  # fixed: the power is a property of the test
        samples = (law.alternative.rvs(size=n, random_state=rng) for _ in range(draws))
        _POWER[key] = sum(ks_pvalue(s, law.dist) < alpha for s in samples) / draws
    return _POWER[key]


def bound_in(dtype: str | None, bound: float) -> float:
    """A law's exact bound as the output dtype can hold it. Implementations compute the
    bound in another order (sqrt(3)*gain/sqrt(fan) or gain*sqrt(3/fan): a few float64 ulps
    apart), then round their draws to the dtype, which may reach the next representable
    value above. So: 8 float64 ulps of slack, then rounded up to the dtype."""
    slack = bound * (1.0 + 8.0 * 2.0**-53)
    if dtype not in ("float16", "float32"):
        return slack
    t = np.dtype(dtype).type
    top = t(slack)
    return float(top if float(top) >= slack else np.nextafter(top, t(np.inf)))


@dataclass(frozen=True)
class Distribution(Comparator):
    """One-sample KS test of the values against the oracle's Law, plus its exact bounds
    (held in the output dtype) and the precision of the draws: a float64 value drawn from a
    continuous law is a float32 number with probability ~2**-29, so when every value of a
    float64 output is one, the draws were made in float32 and cast."""

    alpha: float = ALPHA
    power_draws: int = 20
    power_size: int = 20_000  # power estimated on this many values (or fewer, if fewer)
    compares_shape: ClassVar[bool] = True

    def tolerance(self, case: Case) -> Tolerance:
        return Tolerance(
            self.alpha,
            0.0,
            f"Kolmogorov-Smirnov at alpha={self.alpha:g}: a correct implementation fails at "
            "that rate by design (fixed seeds keep any one run reproducible)",
        )

    def expected_dtype(self, case: Case) -> str | None:
        return case.dtype

    def __call__(
        self, actual: Any, expected: Any, inputs: Inputs, case: Case, tol: Tolerance
    ) -> Comparison:
        law: Law = expected
        values = np.asarray(actual, dtype=np.float64)
        total = int(values.size)
        if values.shape != law.shape:
            return _fail(f"shape {values.shape}, expected {law.shape}", total)
        if total == 0:
            return Comparison(True, total=0, note="empty: nothing to test")
        if not np.isfinite(values).all():
            return _fail("non-finite values in a random initialisation", total)
        bound = None if law.bound is None else bound_in(case.dtype, law.bound)
        if bound is not None and np.abs(values).max() > bound:
            worst = float(np.abs(values).max())
            return _fail(f"|value| reaches {worst:.6g}, past the bound {bound:.6g}", total)
        if case.dtype == "float64" and np.array_equal(values.astype(np.float32), values):
            return _fail(
                f"all {total} float64 values are float32 numbers: drawn in float32 and cast "
                "(24 bits of randomness, not 53)",
                total,
            )
        sample = values.ravel()
        p = ks_pvalue(sample, law.dist)
        n = min(total, self.power_size)
        rate = power(law, n, self.power_draws, self.alpha)
        note = (
            f"KS p={p:.3g} at alpha={self.alpha:g} ({total} values); power {rate:.0%} against "
            f"{law.describe or 'the stated alternative'} (estimated on {n} values)"
        )
        if p < self.alpha:
            return _fail(f"distribution differs: {note}", total)
        return Comparison(True, total=total, error_ratio=self.alpha / max(p, 1e-300), note=note)


@dataclass(frozen=True)
class KeepRate(Comparator):
    """Dropout with the library's own generator: kept values are exactly x/(1 - p) (or x),
    dropped ones 0, and the number kept passes a two-sided binomial test at ``alpha``."""

    p: str = "p"
    alpha: float = ALPHA
    compares_shape: ClassVar[bool] = True

    def tolerance(self, case: Case) -> Tolerance:
        return Tolerance(self.alpha, 0.0, f"binomial test of the keep rate at alpha={self.alpha:g}")

    def expected_dtype(self, case: Case) -> str | None:
        return case.dtype

    def __call__(
        self, actual: Any, expected: Any, inputs: Inputs, case: Case, tol: Tolerance
    ) -> Comparison:
        from scipy import stats

        scaled, x = (np.asarray(v, dtype=np.float64) for v in expected)  # x/(1-p) and x
        y = np.asarray(actual, dtype=np.float64)
        total = int(y.size)
        if y.shape != scaled.shape:
            return _fail(f"shape {y.shape}, expected {scaled.shape}", total)
        p = float(inputs[self.p])
        kept = (y != 0) | np.isnan(y)
        rtol = 4 * np.finfo(np.dtype(case.dtype)).eps
        ok = np.isclose(y, scaled, rtol=rtol, atol=0, equal_nan=True) | (y == 0)
        if not ok.all():
            i = int(np.flatnonzero(~ok.ravel())[0])
            return _fail(
                f"{int((~ok).sum())} values are neither 0 nor x/(1-p); first at flat index {i}: "
                f"{y.ravel()[i]!r} vs {scaled.ravel()[i]!r}",
                total,
            )
        live = x != 0  # a zero input gives 0 whether kept or not: not evidence either way
        n, k = int(live.sum()), int((kept & live).sum())
        if n == 0 or p in (0.0, 1.0):
            expect = n if p == 0.0 else 0
            if k != expect:
                return _fail(f"p={p:g} must keep {expect} of {n} values, kept {k}", total)
            return Comparison(True, total=total, note=f"p={p:g}: kept {k} of {n} exactly")
        test = stats.binomtest(k, n, 1.0 - p)
        note = f"kept {k}/{n} (expected {n * (1 - p):.0f}); binomial p={test.pvalue:.3g}"
        if test.pvalue < self.alpha:
            return _fail(f"keep rate differs from 1 - p: {note}", total)
        return Comparison(True, total=total, error_ratio=self.alpha / test.pvalue, note=note)


def _fail(detail: str, total: int) -> Comparison:
    return Comparison(False, detail, total=total, error_ratio=float("inf"))
