"""kl_divergence: the suite catches the classic mistakes of KL-divergence code.

Each wrong implementation below makes one mistake (the maths' argument order, a reduction,
an implicit normalisation, a naive 0·log 0, a trip through probability space, the P = 0
convention); verify must flag it on the case built for it, and where it says so pass it on
a case the mistake does not touch. Inputs are the suite's, from its fixed seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation, load_registry
from harness.verify import Verdict, verify
from suites.kl_divergence import SUITE, KlOptions, kl_divergence

Impl = Callable[..., Any]
Terms = Callable[[np.ndarray, np.ndarray, KlOptions], np.ndarray]  # (x, t, opts) -> terms


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


def _right(x: np.ndarray, t: np.ndarray, opts: KlOptions) -> np.ndarray:
    """Right: torch's formulas (xlogy), then the P = 0 rule."""
    if opts.log_target:
        out, zero = np.exp(t) * (t - x), t == -np.inf
    else:
        out, zero = t * (np.log(np.where(t > 0, t, 1)) - x), t == 0
    if opts.zero_target == "zero":
        out = np.where(zero & ~np.isnan(x), 0, out)
    return out  # type: ignore[no-any-return]


def _impl(terms: Terms = _right, work: Any = None, batch: str = "rows") -> Impl:
    """An implementation from a pointwise rule, in the inputs' dtype (or ``work``)."""

    def impl(input: Any, target: Any, opts: KlOptions) -> Any:
        dtype = work or input.dtype
        with np.errstate(all="ignore"):
            loss = terms(input.astype(dtype), target.astype(dtype), opts)
            if opts.reduction == "none":
                return loss.astype(input.dtype)
            total = loss.sum(dtype=np.float64)
            count = {"sum": 1, "mean": loss.size, "batchmean": len(input)}[opts.reduction]
            if batch == "elements" and opts.reduction == "batchmean":
                count = loss.size  # batchmean taken for mean
            return np.asarray(total / count if count else np.nan, input.dtype)

    return impl


REGISTRY = load_registry()
PROJECT = [
    REGISTRY.implementations[f"kl_divergence/{k}"]
    for k in ("numpy/chunked", "torch_cpu/xlogy", "library/torch", "library/scipy")
]


def test_the_correct_variant_and_the_project_implementations_pass_the_cases_used_below() -> None:
    _ok(_impl(), "random", "batchmean", "log_target", "zeros_in_p_none", "zero_q_none",
        "zero_q_zero_none", "tiny_q_none", "tiny_log_p_none", "unnormalised_none",
        "many_f64")  # fmt: skip
    for impl in PROJECT:
        for case in ("zero_q_none", "zero_q_zero_sum", "zeros_in_p_log_target_none",
                     "tiny_q_none", "tiny_log_p_none", "p_equals_q_f64"):  # fmt: skip
            v = verify(SUITE, impl, SUITE.find_case(case))
            assert v.status == "pass", (impl.key, case, v.detail)


def test_the_maths_argument_order_is_caught() -> None:
    """D(P‖Q) written with F.kl_div's input as P: the terms of D(Q‖P) instead."""

    def swapped(x: np.ndarray, t: np.ndarray, opts: KlOptions) -> np.ndarray:
        return np.exp(x) * (x - np.log(t))  # type: ignore[no-any-return]

    _bad(_verdict(_impl(swapped), "none"), "finite values off")
    _bad(_verdict(_impl(swapped), "batchmean_f64"), "finite values off")


def test_mean_taken_for_batchmean_is_caught() -> None:
    """'mean' divides by every element, 'batchmean' by N: a factor of the class count."""
    as_mean = _impl(batch="elements")
    _ok(as_mean, "random", "flat_sum_f64")  # mean and sum themselves are right
    _bad(_verdict(as_mean, "batchmean"), "finite values off")
    _bad(_verdict(as_mean, "kdim_batchmean"), "finite values off")
    _bad(_verdict(as_mean, "log_target_batchmean"), "finite values off")


def test_the_reductions_are_told_apart() -> None:
    def summing(input: Any, target: Any, opts: KlOptions) -> Any:
        return _impl()(input, target, replace(opts, reduction="sum"))

    _ok(summing, "sum")
    for case in ("random", "batchmean", "random_f64"):
        _bad(_verdict(summing, case), "finite values off")


def test_an_implicit_normalisation_is_caught() -> None:
    """scipy.stats.entropy(p, q) normalises both first; F.kl_div and rel_entr do not."""

    def normalising(x: np.ndarray, t: np.ndarray, opts: KlOptions) -> np.ndarray:
        axis = tuple(range(1, t.ndim)) or None
        p = t / t.sum(axis=axis, keepdims=True)
        q = np.exp(x) / np.exp(x).sum(axis=axis, keepdims=True)
        return _right(np.log(q), p, opts)

    _ok(_impl(normalising), "none")  # softmax rows: already normalised
    _bad(_verdict(_impl(normalising), "unnormalised_none"), "finite values off")
    _bad(_verdict(_impl(normalising), "unnormalised_batchmean_f64"), "finite values off")


def test_log_target_ignored_is_caught() -> None:
    def probabilities(x: np.ndarray, t: np.ndarray, opts: KlOptions) -> np.ndarray:
        return _right(x, t, replace(opts, log_target=False))

    _ok(_impl(probabilities), "random")
    _bad(_verdict(_impl(probabilities), "log_target"), "finite values off")
    _bad(_verdict(_impl(probabilities), "log_target_none_f64"))


def test_a_naive_zero_times_log_zero_is_caught() -> None:
    """p·log p with log 0 = -inf: 0·(-inf) = NaN where xlogy gives 0."""

    def naive(x: np.ndarray, t: np.ndarray, opts: KlOptions) -> np.ndarray:
        if opts.log_target:
            return _right(x, t, opts)
        out: np.ndarray = t * (np.log(t) - x)
        return out

    _ok(_impl(naive), "random", "none")
    _bad(_verdict(_impl(naive), "zeros_in_p_none"), "NaN where the oracle has a number")
    _bad(_verdict(_impl(naive), "zeros_in_p_batchmean_f64"), "NaN where the oracle has a number")


def test_a_trip_through_probability_space_is_caught() -> None:
    """q = exp(input) underflows to 0 in float32 below about -104: p·log(p/0) = inf where
    the log-space term is finite."""

    def via_q(x: np.ndarray, t: np.ndarray, opts: KlOptions) -> np.ndarray:
        q = np.exp(x)
        return np.where(t > 0, t * np.log(np.where(t > 0, t, 1) / q), 0 * x)

    _ok(_impl(via_q), "random", "zeros_in_p_none")
    _bad(_verdict(_impl(via_q), "tiny_q_none"), "infinite values that differ")
    _bad(_verdict(_impl(via_q), "tiny_q_sum"), "infinite values that differ")


def test_a_log_target_exponentiated_then_logged_again_is_caught() -> None:
    """p = exp(log p) underflows to 0 in float32 below about -104, and the naive p·log p of
    it is NaN where exp(t)·(t - input) is 0."""

    def round_trip(x: np.ndarray, t: np.ndarray, opts: KlOptions) -> np.ndarray:
        if not opts.log_target:
            return _right(x, t, opts)
        p = np.exp(t)
        return p * (np.log(p) - x)  # type: ignore[no-any-return]

    _ok(_impl(round_trip), "log_target", "log_target_none_f64")
    _bad(_verdict(_impl(round_trip), "tiny_log_p_none"), "NaN where the oracle has a number")


def test_the_zero_target_conventions_are_told_apart() -> None:
    """torch: P = 0 against Q = 0 (input -inf) is NaN, a log target of -inf is NaN;
    rel_entr's maths: 0. Each convention run under the other's name fails."""

    def other(x: np.ndarray, t: np.ndarray, opts: KlOptions) -> np.ndarray:
        flipped = "zero" if opts.zero_target == "torch" else "torch"
        return _right(x, t, replace(opts, zero_target=flipped))

    _ok(_impl(other), "random", "zeros_in_p_none")  # no P = 0 against an infinite input
    _bad(_verdict(_impl(other), "zero_q_none"), "numbers where the oracle has NaN")
    _bad(_verdict(_impl(other), "zeros_in_p_log_target_none"), "numbers where the oracle has NaN")
    _bad(_verdict(_impl(other), "zero_q_zero_none"), "NaN where the oracle has a number")
    _bad(_verdict(_impl(other), "zero_q_zero_sum"), "NaN where the oracle has a number")
    _bad(_verdict(_impl(other), "zeros_in_p_log_target_zero_none"), "NaN where the oracle")


def test_nan_must_propagate() -> None:
    def nan_to_zero(x: np.ndarray, t: np.ndarray, opts: KlOptions) -> np.ndarray:
        out: np.ndarray = np.nan_to_num(_right(x, t, opts), nan=0.0, posinf=np.inf)
        return out

    _ok(_impl(nan_to_zero), "random", "tiny_q_none")
    _bad(_verdict(_impl(nan_to_zero), "nan_none"), "numbers where the oracle has NaN")
    _bad(_verdict(_impl(nan_to_zero), "nan_mean"), "numbers where the oracle has NaN")


def test_a_blocked_reduction_wrong_only_past_its_first_block_is_caught() -> None:
    def mean_of_block_means(input: Any, target: Any, opts: KlOptions) -> Any:
        """batchmean over blocks of 8,192 rows, each block's batchmean then averaged: right
        for one block, wrong once the last block is shorter."""
        if opts.reduction != "batchmean":
            return _impl()(input, target, opts)
        with np.errstate(all="ignore"):
            means = [_right(input[i : i + 8192], target[i : i + 8192], opts).sum()
                     / len(input[i : i + 8192]) for i in range(0, len(input), 8192)]  # fmt: skip
        return np.asarray(np.mean(means) if means else np.nan, input.dtype)

    _ok(mean_of_block_means, "batchmean", "batchmean_f64")  # 40 rows: one block
    _bad(_verdict(mean_of_block_means, "many_f64"), "finite values off")  # 20,000: three


def test_float32_arithmetic_on_float64_inputs_is_caught() -> None:
    _bad(_verdict(_impl(work=np.float32), "random_f64"), "finite values off")
    _bad(_verdict(_impl(work=np.float32), "none_f64"), "finite values off")


def test_wrong_shapes_dtypes_and_input_writes_are_caught() -> None:
    def flat(input: Any, target: Any, opts: KlOptions) -> Any:
        return np.ravel(_impl()(input, target, opts))  # (0,) for (0, 3)

    def float64_out(input: Any, target: Any, opts: KlOptions) -> Any:
        return np.asarray(kl_divergence(input, target, opts))

    def in_place(input: Any, target: Any, opts: KlOptions) -> Any:
        out = _impl()(input, target, opts)
        np.multiply(input, 1.0, out=input)  # harmless values, but the caller's buffer written
        input[...] = 0
        return out

    def aliased(input: Any, target: Any, opts: KlOptions) -> Any:
        input[...] = _impl()(input, target, opts)
        return input

    _bad(_verdict(flat, "no_rows_none"), "has shape (0,), expected (0, 3)")
    _bad(_verdict(float64_out, "random"), "has dtype float64, expected float32")
    _bad(_verdict(in_place, "random"), "modified its input(s) ['input']")
    assert _verdict(aliased, "none").status in ("fail", "error")


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")  # torch's, on mean
def test_the_oracle_is_torch_s_and_scipy_s() -> None:
    torch = pytest.importorskip("torch")
    from scipy.special import rel_entr

    rng = np.random.default_rng(5)
    p = rng.uniform(0.0, 2.0, (30, 4))
    p[::3, 1] = 0.0
    x = np.log(rng.uniform(0.01, 2.0, (30, 4)))
    x[1, 1], x[3, 1] = -np.inf, -np.inf  # P > 0 (+inf) and P = 0 (torch: NaN; maths: 0)
    f = torch.nn.functional
    tx = torch.from_numpy(x)
    with np.errstate(divide="ignore"):
        log_p = np.log(p)
    for reduction in ("none", "sum", "mean", "batchmean"):
        for log_target in (False, True):
            tgt = log_p if log_target else p
            opts = KlOptions(reduction, log_target)
            ours = kl_divergence(x, tgt, opts)
            theirs = f.kl_div(tx, torch.from_numpy(tgt), reduction=reduction,
                              log_target=log_target)  # fmt: skip
            np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-13, atol=0)
    with np.errstate(all="ignore"):
        exact = rel_entr(p, np.exp(x))
    for log_target in (False, True):
        tgt = log_p if log_target else p
        ours = kl_divergence(x, tgt, KlOptions("none", log_target, "zero"))
        np.testing.assert_allclose(ours, exact, rtol=1e-13, atol=1e-15)
