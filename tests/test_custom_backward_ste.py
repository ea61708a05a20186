"""custom_backward_ste: the suites catch the classic straight-through mistakes, and the
backward oracle is the gradient of its surrogate (finite differences, torch float64 autograd).

Each wrong implementation below is one mistake people make; verify must flag it on the case
named for it with a diagnosis that says what differs, while the right one passes. Seeds are
the suites' fixed ones, and 0..3 for the gradient checks, chosen before the checks were
written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from harness.registry import Implementation
from harness.spec import Suite
from harness.verify import Verdict, verify
from suites.custom_backward_ste import (
    BACKWARD_SUITE,
    SUITE,
    SteBackwardOptions,
    SteForwardOptions,
    custom_backward_ste,
    custom_backward_ste_backward,
)


def _verdict(fn: Callable[..., Any], case: str, suite: Suite = SUITE, **kw: Any) -> Verdict:
    impl = Implementation(suite.algorithm, "numpy", "wrong", fn, **kw)
    return verify(suite, impl, suite.find_case(case))


def _torch_verdict(fn: Callable[..., Any], case: str, suite: Suite = SUITE) -> Verdict:
    impl = Implementation(suite.algorithm, "torch_cpu", "wrong", fn, arrays="torch_cpu")
    return verify(suite, impl, suite.find_case(case))


def _bad(v: Verdict, *phrases: str) -> None:
    assert v.status in ("fail", "error"), (v.status, v.detail)
    for phrase in phrases:
        assert phrase in v.detail, v.detail


def _right_forward(x: Any, opts: SteForwardOptions) -> Any:
    return custom_backward_ste(x, opts).astype(x.dtype)


def _right_backward(x: Any, g: Any, opts: SteBackwardOptions) -> Any:
    return custom_backward_ste_backward(x, g, opts).astype(x.dtype)


def test_the_right_implementations_pass() -> None:
    for name in ("round_f32", "sign_f32", "onehot_multi_block", "onehot_ties", "no_rows"):
        assert _verdict(_right_forward, name).status == "pass", name
    for name in ("clipped_f32", "clipped_block_f64", "clipped_nonfinite", "empty_rows"):
        assert _verdict(_right_backward, name, BACKWARD_SUITE).status == "pass", name


def test_round_half_away_from_zero_is_caught() -> None:
    """C's round() / floor(x + 0.5): 0.5 -> 1 and 2.5 -> 3 instead of torch.round's 0 and 2."""

    def away(x: Any, opts: SteForwardOptions) -> Any:
        return (np.sign(x) * np.floor(np.abs(x) + 0.5)).astype(x.dtype)

    _bad(_verdict(away, "round_f32"), "elements differ")


def test_sign_of_zero_convention_is_caught() -> None:
    """sign(0) = +1 where torch.sign's 0 is asked, and copysign's -1 for -0.0 under plus_one."""

    def binarise(x: Any, opts: SteForwardOptions) -> Any:
        return np.where(x >= 0, 1.0, np.where(x < 0, -1.0, x)).astype(x.dtype)

    def copysign(x: Any, opts: SteForwardOptions) -> Any:
        return np.where(np.isnan(x), x, np.copysign(1.0, x)).astype(x.dtype)

    _bad(_verdict(binarise, "sign_f32"), "expected 0.0")
    assert _verdict(binarise, "sign_plus_one_f64").status == "pass"
    _bad(_verdict(copysign, "sign_plus_one_f64"), "got -1.0, expected 1.0")


def test_torch_sign_of_nan_is_caught() -> None:
    """Raw torch.sign maps NaN to 0 on CPU: the NaN case flags it, ordinary cases do not."""

    def raw(x: Any, opts: SteForwardOptions) -> Any:
        return torch.sign(x)

    assert _torch_verdict(raw, "sign_f32").status == "pass"
    _bad(_torch_verdict(raw, "sign_nonfinite"), "NaN")


def test_argmax_last_of_tied_maxima_is_caught() -> None:
    def last(x: Any, opts: SteForwardOptions) -> Any:
        out = np.zeros_like(x)
        if x.size:
            idx = x.shape[1] - 1 - np.argmax(x[:, ::-1], axis=1)
            out[np.arange(x.shape[0]), idx] = 1
        return out

    _bad(_verdict(last, "onehot_ties"), "elements differ")


def test_blocked_argmax_wrong_past_its_first_tile_is_caught() -> None:
    """Argmax over 256-wide tiles that keeps the first tile's winner (a bad merge)."""

    def first_tile(x: Any, opts: SteForwardOptions) -> Any:
        out = np.zeros_like(x)
        if x.size:
            out[np.arange(x.shape[0]), np.argmax(x[:, :256], axis=1)] = 1
        return out

    assert _verdict(first_tile, "onehot_f32").status == "pass"
    _bad(_verdict(first_tile, "onehot_multi_block"), "elements differ")


def test_exclusive_mask_at_one_is_caught() -> None:
    """F.hardtanh's gradient (blocked at |x| = 1) where clamp's (passes) is asked, and back."""

    def exclusive(x: Any, g: Any, opts: SteBackwardOptions) -> Any:
        return np.where(np.abs(x) < 1, g, 0).astype(x.dtype)

    def inclusive(x: Any, g: Any, opts: SteBackwardOptions) -> Any:
        return np.where(np.abs(x) <= 1, g, 0).astype(x.dtype)

    _bad(_verdict(exclusive, "clipped_f32", BACKWARD_SUITE), "elements differ")
    _bad(_verdict(inclusive, "clipped_block_f32", BACKWARD_SUITE), "elements differ")


def test_mask_as_a_product_is_caught() -> None:
    """g*mask turns inf*0 into NaN outside the mask; the select gives 0."""

    def product(x: Any, g: Any, opts: SteBackwardOptions) -> Any:
        with np.errstate(invalid="ignore"):
            return (g * (np.abs(x) <= 1)).astype(x.dtype)

    assert _verdict(product, "clipped_f32", BACKWARD_SUITE).status == "pass"
    _bad(_verdict(product, "clipped_nonfinite", BACKWARD_SUITE), "NaN")


def test_identity_returning_g_itself_is_caught() -> None:
    def alias(x: Any, g: Any, opts: SteBackwardOptions) -> Any:
        return g

    _bad(_verdict(alias, "identity_f32", BACKWARD_SUITE), "shares memory")


@pytest.mark.parametrize(
    ("suite", "case"),
    [
        (SUITE, "round_near_half_f64"),
        (SUITE, "round_large"),
        (BACKWARD_SUITE, "clipped_near_one_f64"),
    ],
)
def test_float32_arithmetic_on_float64_inputs_is_caught(suite: Suite, case: str) -> None:
    def low(*args: Any) -> Any:
        *arrays, opts = args
        low64 = [np.asarray(a, np.float32).astype(np.float64) for a in arrays]
        if suite is SUITE:
            out = custom_backward_ste(low64[0], opts)
        else:
            out = custom_backward_ste_backward(low64[0], low64[1], opts)
        return np.asarray(out, np.float32).astype(np.float64)

    _bad(_verdict(low, case, suite), "elements differ")


def test_wrong_shape_on_an_empty_case_is_caught() -> None:
    def flat(x: Any, opts: SteForwardOptions) -> Any:
        return np.zeros((0,), x.dtype)

    _bad(_verdict(flat, "no_rows"))


def test_g_of_another_shape_raises_in_every_implementation() -> None:
    from harness.registry import load_registry

    impls = [
        i
        for i in load_registry().implementations.values()
        if i.algorithm == BACKWARD_SUITE.algorithm and i.backend in ("torch_cpu", "library")
    ]
    assert impls
    x, g = torch.zeros(3, 4), torch.zeros(3, 5)
    for impl in impls:
        assert impl.fn is not None
        with pytest.raises(ValueError, match=r"\bg\b"):
            impl.fn(x, g, SteBackwardOptions())


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("surrogate", ["identity", "clipped"])
def test_backward_oracle_is_the_gradient_of_its_surrogate(seed: int, surrogate: str) -> None:
    """dx = d<g, s(x)>/dx with s = x or clamp(x, -1, 1): central differences away from the
    kinks at +-1, and torch float64 autograd of the detach trick everywhere (x = +-1 too)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (4, 6))
    x[0, :2] = [1.0, -1.0]
    g = rng.standard_normal(x.shape)
    opts = SteBackwardOptions(surrogate=surrogate)
    dx = custom_backward_ste_backward(x, g, opts)

    def s(z: np.ndarray) -> np.ndarray:
        return z if surrogate == "identity" else np.clip(z, -1, 1)

    h, away = 1e-6, np.abs(np.abs(x) - 1) > 1e-3
    fd = np.zeros_like(x)
    for idx in zip(*np.nonzero(away), strict=True):
        e = np.zeros_like(x)
        e[idx] = h
        fd[idx] = ((g * s(x + e)).sum() - (g * s(x - e)).sum()) / (2 * h)
    np.testing.assert_allclose(dx[away], fd[away], rtol=1e-7, atol=1e-8)

    leaf = torch.tensor(x, requires_grad=True)
    xc = leaf if surrogate == "identity" else torch.clamp(leaf, -1.0, 1.0)
    y = xc + (torch.round(leaf) - xc).detach()
    (auto,) = torch.autograd.grad(y, leaf, torch.tensor(g))
    np.testing.assert_array_equal(dx, auto.numpy())
