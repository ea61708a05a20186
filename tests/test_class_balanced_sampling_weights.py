"""class_balanced_sampling_weights: the suite catches the classic mistakes of class weighting.

Each wrong implementation below makes one mistake (1/0 for an absent class, sklearn's C'
taken as num_classes, the effective number inverted, a sum-to-one normalisation, counts
without minlength, float32 arithmetic); verify must flag it on the case built for it, and
pass it where the mistake changes nothing. A fixed-seed chi-square check shows that drawing
with replacement in proportion to the sample weights balances the classes (and that
drawing uniformly does not).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.verify import Verdict, verify
from suites.class_balanced_sampling_weights import (
    SUITE,
    BalanceOptions,
    check,
    class_balanced_sampling_weights,
)

Impl = Callable[..., Any]


def _verdict(fn: Impl, case: str) -> Verdict:
    impl = Implementation(SUITE.algorithm, "numpy", "wrong", fn)
    return verify(SUITE, impl, SUITE.find_case(case))


def _bad(v: Verdict, *phrases: str) -> None:
    assert v.status in ("fail", "error"), (v.status, v.detail)
    for phrase in phrases:
        assert phrase in v.detail, v.detail


def _ok(fn: Impl, *cases: str) -> None:
    for case in cases:
        v = _verdict(fn, case)
        assert v.status == "pass", (case, v.detail)


def _impl(absent_zero: bool = True, classes: str = "present", effective: str = "right",
          total: str = "classes", minlength: bool = True,
          work: Any = np.float64) -> Impl:  # fmt: skip
    def impl(labels: Any, num_classes: Any, beta: Any, opts: Any) -> Any:
        check(labels, num_classes, beta)
        n = np.bincount(labels, minlength=int(num_classes) if minlength else 0).astype(work)
        b = work(beta)
        present = n > 0
        c = int(present.sum()) if classes == "present" else int(num_classes)
        with np.errstate(divide="ignore", invalid="ignore"):
            if opts.scheme == "inverse":
                w = 1 / n
            elif opts.scheme == "balanced":
                w = n.sum() / (c * n)
            elif effective == "inverted":
                w = (1 - b**n) / (1 - b)
            else:
                w = (1 - b) / (1 - b**n) if b > 0 else np.ones_like(n)
        if absent_zero:
            w = np.where(present, w, 0)
        if opts.normalize == "sum_to_classes":
            w = w * ((present.sum() if total == "classes" else 1) / w.sum())
        w = w.astype(np.float64)
        return w, w[labels]

    return impl


def test_the_correct_variant_passes_the_cases_used_below() -> None:
    _ok(_impl(), "inverse", "balanced", "effective", "effective_beta_0_9999", "absent_classes",
        "absent_classes_balanced", "inverse_normalised", "beta_0", "one_class")  # fmt: skip


def test_an_absent_class_weighs_zero_not_infinity() -> None:
    _ok(_impl(absent_zero=False), "inverse")
    _bad(_verdict(_impl(absent_zero=False), "absent_classes"), "infinite values")


def test_balanced_counts_the_present_classes() -> None:
    every_class = _impl(classes="all")
    _ok(every_class, "balanced")  # every class present
    _bad(_verdict(every_class, "absent_classes_balanced"), "output 'class_weights'")


def test_the_effective_number_is_not_inverted() -> None:
    inverted = _impl(effective="inverted")
    _ok(inverted, "inverse")
    _bad(_verdict(inverted, "effective"), "output 'class_weights'")


def test_the_normalisation_sums_to_the_present_classes() -> None:
    to_one = _impl(total="one")
    _ok(to_one, "inverse")
    _bad(_verdict(to_one, "inverse_normalised"), "output 'class_weights'")


def test_counts_without_minlength_lose_trailing_absent_classes() -> None:
    short = _impl(minlength=False)
    _ok(short, "inverse")
    _bad(_verdict(short, "absent_classes"), "has shape (10,), expected (12,)")


def test_float32_arithmetic_is_caught() -> None:
    _bad(_verdict(_impl(work=np.float32), "effective_beta_0_9999"), "finite values off")


def test_sampling_in_proportion_to_the_weights_balances_the_classes() -> None:
    """100,000 draws with replacement ∝ the sample weights: the present classes' counts pass
    a chi-square test of uniformity at alpha 1e-3; uniform draws fail it. Seed 0, fixed
    before the outcome was known."""
    stats = pytest.importorskip("scipy.stats")
    inputs = SUITE.make_inputs(SUITE.find_case("absent_classes"))  # type: ignore[arg-type]
    labels = inputs["labels"]
    _, sample = class_balanced_sampling_weights(labels, 12, inputs["beta"], BalanceOptions())
    rng = np.random.default_rng(0)
    present = np.unique(labels)
    for p, balanced in ((sample / sample.sum(), True), (None, False)):
        draws = labels[rng.choice(len(labels), 100_000, replace=True, p=p)]
        counts = np.bincount(draws, minlength=12)[present]
        assert (stats.chisquare(counts).pvalue > 1e-3) == balanced
