"""class_balanced_sampling_weights: the suite catches the classic mistakes of class weighting.

Each wrong implementation below makes one mistake (1/0 for an absent class, sklearn's C'
taken as num_classes, the effective number inverted, a sum-to-one normalisation, counts
without minlength, float32 arithmetic); verify must flag it on the case built for it, and
pass it where the mistake changes nothing. A fixed-seed chi-square check of torch's
WeightedRandomSampler, driven by every registered implementation's sample weights, shows
that they balance the classes, and that the classic sampler mistakes (class weights handed
over where sample weights belong, weights n_c instead of 1/n_c, uniform draws) do not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.prepare import prepare
from harness.registry import Implementation, load_registry
from harness.verify import Verdict, verify
from suites.class_balanced_sampling_weights import (
    SAMPLER_ALPHA,
    SUITE,
    BalanceOptions,
    check,
    chisquare_pvalue,
    class_balanced_sampling_weights,
    class_frequencies,
    sampled_classes,
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
    def impl(labels: Any, num_classes: Any, beta: Any, num_samples: Any, opts: Any) -> Any:
        check(labels, num_classes, beta, num_samples)
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


PROJECT = [i for i in load_registry().select([SUITE.algorithm]) if not i.unavailable_reason()]


def _sampler_p(weights: Any, labels: np.ndarray, freq: np.ndarray, seed: int = 0) -> float:
    """Chi-square p of 100,000 WeightedRandomSampler draws' class counts against freq."""
    counts = sampled_classes(weights, labels, 12, 100_000, seed)
    return chisquare_pvalue(counts, freq)[0]


def test_weighted_random_sampler_balances_the_classes_with_each_implementations_weights() -> None:
    """torch.utils.data.WeightedRandomSampler, 100,000 draws with replacement on a
    torch.Generator seeded 0 (fixed before the outcome was known), driven by the sample
    weights each registered implementation computes for scheme 'inverse' on the labels with
    absent classes: the present classes' counts pass a chi-square test of equal frequencies
    at alpha SAMPLER_ALPHA = 1e-6 (a correct sampler fails with probability 1e-6 for a random
    seed; this seed is fixed, so the test is deterministic). The three classic mistakes fail
    it: the class weights handed to the sampler where the sample weights belong (it then
    draws among the first C samples), weights n_c instead of 1/n_c, and uniform draws."""
    pytest.importorskip("torch")
    pytest.importorskip("scipy.stats")
    case = SUITE.find_case("absent_classes")
    labels = SUITE.make_inputs(case)["labels"]  # type: ignore[arg-type]
    present = np.bincount(labels, minlength=12) > 0
    equal = present / present.sum()
    assert {i.backend for i in PROJECT} >= {"numpy", "torch_cpu"}
    for impl in PROJECT:
        out = prepare(SUITE, impl, case)()  # type: ignore[arg-type]
        class_w, sample_w = (np.asarray(w) for w in out)
        assert _sampler_p(sample_w, labels, equal) > SAMPLER_ALPHA, impl.key
        # the pitfalls, built from this implementation's own weights
        assert _sampler_p(class_w, labels, equal) < SAMPLER_ALPHA, impl.key  # per class
        counts_as_weights = np.bincount(labels, minlength=12)[labels]  # n_c, not 1/n_c
        assert _sampler_p(counts_as_weights, labels, equal) < SAMPLER_ALPHA
        assert _sampler_p(np.ones(len(labels)), labels, equal) < SAMPLER_ALPHA  # uniform


def test_weighted_random_sampler_follows_the_effective_number_frequencies() -> None:
    """For scheme 'effective' with beta = 0.9 (an effective number of at most 10 samples per
    class) the classes are far from equally likely: the draws follow n_c·w_c (chi-square at
    SAMPLER_ALPHA, seed 0), and fail the equal frequencies of 'inverse'."""
    pytest.importorskip("torch")
    pytest.importorskip("scipy.stats")
    labels = SUITE.make_inputs(SUITE.find_case("effective"))["labels"]  # type: ignore[arg-type]
    opts = BalanceOptions(scheme="effective")
    _, sample_w = class_balanced_sampling_weights(labels, 12, np.asarray(0.9), 1, opts)
    implied = class_frequencies(labels, sample_w, 12)
    assert _sampler_p(sample_w, labels, implied) > SAMPLER_ALPHA
    present = np.bincount(labels, minlength=12) > 0
    assert _sampler_p(sample_w, labels, present / present.sum()) < SAMPLER_ALPHA


def test_the_verdict_runs_the_sampler_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite's comparator of sample_weights draws from WeightedRandomSampler once the
    weights match, and fails when the draws do not follow the weights (simulated: a sampler
    handed all-ones weights, i.e. uniform draws)."""
    pytest.importorskip("torch")
    import suites.class_balanced_sampling_weights as suite_module

    case = SUITE.find_case("inverse")
    inputs = SUITE.make_inputs(case)  # type: ignore[arg-type]
    labels, c, beta, draws = (inputs[k] for k in ("labels", "num_classes", "beta", "num_samples"))
    _, sample_w = class_balanced_sampling_weights(labels, c, beta, draws, BalanceOptions())
    comp = SUITE.compare.parts["sample_weights"]  # type: ignore[attr-defined]
    good = comp(sample_w, sample_w, inputs, case, comp.tolerance(case))
    assert good.passed and "WeightedRandomSampler" in good.note, good
    right = suite_module.sampled_classes
    monkeypatch.setattr(suite_module, "sampled_classes",
                        lambda w, *a: right(np.ones_like(w), *a))  # fmt: skip
    bad = comp(sample_w, sample_w, inputs, case, comp.tolerance(case))
    assert not bad.passed and "sampled class frequencies differ" in bad.detail, bad


@pytest.mark.parametrize("num_samples", [0, -1])
def test_num_samples_must_be_positive(num_samples: int) -> None:
    """As torch's WeightedRandomSampler: num_samples <= 0 is a ValueError, in every
    implementation (the suite's error cases check them all; here the oracle)."""
    with pytest.raises(ValueError, match="num_samples"):
        class_balanced_sampling_weights(np.array([0, 1]), 2, np.asarray(0.9), num_samples,
                                        BalanceOptions())  # fmt: skip
