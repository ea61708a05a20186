"""smooth_l1_huber: the suite catches the classic mistakes of smooth L1 / Huber code.

Each wrong implementation below makes one mistake (β versus δ versus σ, a division by β = 0,
a reduction, a per-positive normaliser, an overflowing square); verify must flag it on the
case built for it, and where it says so pass it on a case the mistake does not touch. Inputs
are the suite's, from its fixed seed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation, load_registry
from harness.verify import Verdict, verify
from suites.smooth_l1_huber import SUITE, SmoothL1Options, smooth_l1_huber

Impl = Callable[..., Any]
Elementwise = Callable[[np.ndarray, float, bool], np.ndarray]  # (d, β, huber) -> losses


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


def _branches(d: np.ndarray, b: float, huber: bool) -> np.ndarray:
    """Right: the two-branch definitions, |d| = 0 handled, β = 0 as L1."""
    a = np.abs(d)
    if huber:
        out: np.ndarray = np.where(a <= b, 0.5 * d * d, b * (a - 0.5 * b))
    elif b == 0:
        out = a
    else:
        out = np.where(a < b, 0.5 * d * d / b, a - 0.5 * b)
    return out


def _impl(elementwise: Elementwise = _branches, positives: str = "max1",
          work: Any = None) -> Impl:  # fmt: skip
    """An implementation from an elementwise rule, in the inputs' dtype (or ``work``)."""

    def impl(pred: Any, target: Any, positive: Any, beta: Any, opts: Any) -> Any:
        dtype = work or pred.dtype
        if opts.reduction == "per_positive":
            n_pos = int(positive.sum())
            pred, target = pred[positive], target[positive]
        with np.errstate(all="ignore"):
            loss = elementwise(pred.astype(dtype) - target.astype(dtype), float(beta),
                               opts.loss == "huber")  # fmt: skip
        if opts.reduction == "none":
            return loss.astype(pred.dtype)
        total = loss.sum(dtype=np.float64)
        with np.errstate(all="ignore"):
            if opts.reduction == "sum":
                value = total
            elif opts.reduction == "per_positive":
                value = (
                    total
                    / {"max1": max(1, n_pos), "count": n_pos, "elements": loss.size}[positives]
                )
            else:
                value = total / loss.size if loss.size else np.nan
        return np.asarray(value, pred.dtype)

    return impl


REGISTRY = load_registry()
PROJECT = [
    REGISTRY.implementations[f"smooth_l1_huber/{k}"] for k in ("numpy/chunked", "library/torch")
]


def test_the_correct_variant_and_the_project_implementations_pass_the_cases_used_below() -> None:
    _ok(_impl(), "random", "huber", "beta_0_l1_none", "boundary_none", "huge_none",
        "per_positive", "no_positives", "rpn_beta_1_9_none_f64", "many_f64")  # fmt: skip
    for impl in PROJECT:
        for case in ("huge_huber_none", "beta_0_l1_none", "no_positives", "many_none"):
            v = verify(SUITE, impl, SUITE.find_case(case))
            assert v.status == "pass", (impl.key, case, v.detail)


def test_huber_taken_for_smooth_l1_and_back_is_caught() -> None:
    """Huber_δ = δ·smooth_L1_δ: the two agree only at β = 1."""

    def swapped(d: np.ndarray, b: float, huber: bool) -> np.ndarray:
        return _branches(d, b if b else 1.0, not huber)

    _ok(_impl(swapped), "random", "huber")  # β = δ = 1: the same function
    _bad(_verdict(_impl(swapped), "beta_2_none"), "finite values off")
    _bad(_verdict(_impl(swapped), "huber_delta_2_none_f64"), "finite values off")
    _bad(_verdict(_impl(swapped), "huber_delta_1_9_sum"), "finite values off")


def test_sigma_passed_where_beta_is_meant_is_caught() -> None:
    """Detection code writes β = 1/σ²; reading the β argument as σ squares it wrongly."""

    def as_sigma(d: np.ndarray, b: float, huber: bool) -> np.ndarray:
        return _branches(d, 1.0 / (b * b) if b else 0.0, huber)

    _ok(_impl(as_sigma), "random")  # β = 1 = 1/1²
    _bad(_verdict(_impl(as_sigma), "rpn_beta_1_9_none_f64"), "finite values off")


def test_a_division_by_beta_0_is_caught() -> None:
    """0.5·d²/β evaluated for every element: at β = 0 that is inf or NaN (d = 0) where the
    linear branch is meant; torch calls l1_loss instead."""

    def divides(d: np.ndarray, b: float, huber: bool) -> np.ndarray:
        if huber:
            return _branches(d, b, huber)
        a = np.abs(d)
        inside = (a < b).astype(d.dtype)
        out: np.ndarray = inside * (0.5 * d * d / b) + (1 - inside) * (a - 0.5 * b)
        return out

    _ok(_impl(divides), "random", "beta_2_none")
    _bad(_verdict(_impl(divides), "beta_0_l1_none"), "NaN where the oracle has a number")


def test_a_square_that_overflows_for_huge_differences_is_caught() -> None:
    """A blend written with the square on every element: (1e20)² = inf in float32, and
    inf·0 = NaN where the linear branch should stand alone."""

    def blended(d: np.ndarray, b: float, huber: bool) -> np.ndarray:
        a = np.abs(d)
        inside = (a <= b if huber else a < b).astype(d.dtype)
        quad = 0.5 * d * d * (1 if huber else 1 / b)
        lin = b * (a - 0.5 * b) if huber else a - 0.5 * b
        out: np.ndarray = inside * quad + (1 - inside) * lin
        return out

    _ok(_impl(blended), "random", "huber")
    _bad(_verdict(_impl(blended), "huge_none"), "NaN where the oracle has a number")
    _bad(_verdict(_impl(blended), "huge_huber_none"), "NaN where the oracle has a number")


def test_the_branch_point_is_not_a_convention() -> None:
    """At |d| = β both branches give the same value: < and <= both pass there."""

    def le(d: np.ndarray, b: float, huber: bool) -> np.ndarray:
        a = np.abs(d)
        if huber:
            return np.where(a < b, 0.5 * d * d, b * (a - 0.5 * b))  # type: ignore[no-any-return]
        return np.where(a <= b, 0.5 * d * d / b, a - 0.5 * b)  # type: ignore[no-any-return]

    _ok(_impl(le), "boundary_none", "boundary_huber_none")


def test_reductions_are_enforced() -> None:
    def summing(pred: Any, target: Any, positive: Any, beta: Any, opts: Any) -> Any:
        if opts.reduction == "mean":
            opts = SmoothL1Options(opts.loss, "sum")
        return _impl()(pred, target, positive, beta, opts)

    _ok(summing, "sum")
    _bad(_verdict(summing, "random"), "finite values off")
    _bad(_verdict(summing, "huber"), "finite values off")


def test_the_per_positive_normaliser_is_enforced() -> None:
    by_elements = _impl(positives="elements")  # a mean over the positive rows' elements
    by_count = _impl(positives="count")  # no max(1, ·): 0/0 when nothing is positive
    _bad(_verdict(by_elements, "per_positive"), "finite values off")
    _bad(_verdict(by_elements, "huber_per_positive"), "finite values off")
    _ok(by_count, "per_positive")
    _bad(_verdict(by_count, "no_positives"), "NaN where the oracle has a number")


def test_nan_must_propagate() -> None:
    def nan_to_zero(d: np.ndarray, b: float, huber: bool) -> np.ndarray:
        return _branches(np.nan_to_num(d, nan=0.0), b, huber)

    _ok(_impl(nan_to_zero), "random")
    _bad(_verdict(_impl(nan_to_zero), "nan_none"), "numbers where the oracle has NaN")
    _bad(_verdict(_impl(nan_to_zero), "nan_mean"), "numbers where the oracle has NaN")


def test_a_chunked_kernel_wrong_only_past_its_first_chunk_is_caught() -> None:
    def mean_of_chunk_means(pred: Any, target: Any, positive: Any, beta: Any, opts: Any) -> Any:
        """Chunks of 65,536 elements, each averaged, then the chunk means averaged: right
        for one chunk, wrong once the last chunk is shorter."""
        if opts.reduction != "mean":
            return _impl()(pred, target, positive, beta, opts)
        d = (pred - target).reshape(-1)
        with np.errstate(all="ignore"):
            means = [_branches(d[i : i + 65536], float(beta), opts.loss == "huber").mean()
                     for i in range(0, d.size, 65536)]  # fmt: skip
            return np.asarray(np.mean(means) if means else np.nan, pred.dtype)

    _ok(mean_of_chunk_means, "random", "random_f64")  # 160 elements: one chunk
    _bad(_verdict(mean_of_chunk_means, "many_f64"), "finite values off")  # 80,000: two


def test_float32_arithmetic_on_float64_inputs_is_caught() -> None:
    _bad(_verdict(_impl(work=np.float32), "random_f64"), "finite values off")
    _bad(_verdict(_impl(work=np.float32), "none_f64"), "finite values off")


def test_wrong_shapes_dtypes_and_input_writes_are_caught() -> None:
    def flat(pred: Any, target: Any, positive: Any, beta: Any, opts: Any) -> Any:
        return np.ravel(_impl()(pred, target, positive, beta, opts))  # (0,) for (0, 3)

    def float64_out(pred: Any, target: Any, positive: Any, beta: Any, opts: Any) -> Any:
        return np.asarray(smooth_l1_huber(pred, target, positive, beta, opts))

    def in_place(pred: Any, target: Any, positive: Any, beta: Any, opts: Any) -> Any:
        np.subtract(pred, target, out=pred)  # d computed into the caller's pred
        return _impl()(pred, np.zeros_like(target), positive, beta, opts)

    _bad(_verdict(flat, "no_elements_none"), "has shape (0,), expected (0, 3)")
    _bad(_verdict(float64_out, "random"), "has dtype float64, expected float32")
    _bad(_verdict(in_place, "random"), "modified its input(s) ['pred']")


def test_the_oracle_is_torch_s_at_the_spec_s_betas() -> None:
    torch = pytest.importorskip("torch")
    f = torch.nn.functional
    rng = np.random.default_rng(5)
    p, t = rng.standard_normal((30, 4)), rng.standard_normal((30, 4))
    for b in (0.0, 1 / 9, 1.0, 3.0):
        ours = smooth_l1_huber(p, t, None, b, SmoothL1Options(reduction="none"))
        theirs = f.smooth_l1_loss(
            torch.from_numpy(p), torch.from_numpy(t), reduction="none", beta=b
        )
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-14, atol=0)
        if b > 0:
            ours = smooth_l1_huber(p, t, None, b, SmoothL1Options("huber", "none"))
            theirs = f.huber_loss(
                torch.from_numpy(p), torch.from_numpy(t), reduction="none", delta=b
            )
            np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-14, atol=0)
            np.testing.assert_allclose(  # Huber_δ = δ·smooth_L1_δ
                ours, b * smooth_l1_huber(p, t, None, b, SmoothL1Options(reduction="none")),
                rtol=1e-14,
            )  # fmt: skip
