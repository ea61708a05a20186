"""autograd_second_derivative: the suite catches the classic second-derivative mistakes;
the closed-form oracle agrees with float64 central differences of the gradient and with
torch float64 autograd (functional.hessian, gradgradcheck); torch refuses the two misuses
the spec names (a non-scalar output without grad_outputs, a second derivative without
create_graph).

Seeds are the suite's fixed ones and 0..2 for the property checks, chosen before the checks
were written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from harness.registry import Implementation
from harness.verify import Verdict, verify
from suites.autograd_second_derivative import (
    SUITE,
    SecondDerivativeOptions,
    autograd_second_derivative,
    curvature,
)

FUNCTIONS = SecondDerivativeOptions.flag("function").values
HESSIAN: Any = torch.autograd.functional.hessian  # untyped in torch


def _verdict(fn: Callable[..., Any], case: str) -> Verdict:
    impl = Implementation(SUITE.algorithm, "numpy", "wrong", fn)
    return verify(SUITE, impl, SUITE.find_case(case))


def _bad(v: Verdict, *phrases: str) -> None:
    assert v.status in ("fail", "error"), (v.status, v.detail)
    for phrase in phrases:
        assert phrase in v.detail, v.detail


def _gradient(x: np.ndarray, a: np.ndarray, function: str) -> np.ndarray:
    """The analytic gradient of f, float64 (for the finite-difference checks)."""
    if function == "cubic":
        return 3.0 * x**2
    if function == "logsumexp":
        e = np.exp(x - x.max())
        p: np.ndarray = e / e.sum()
        return p
    z = a @ x
    unit = 1.0 - np.tanh(z) ** 2 if function == "tanh_layer" else (z > 0).astype(float)
    result: np.ndarray = a.T @ unit
    return result


def test_the_right_implementation_passes() -> None:
    def right(x: Any, v: Any, a: Any, opts: SecondDerivativeOptions) -> Any:
        return autograd_second_derivative(x, v, a, opts).astype(x.dtype)

    for name in ("tanh_hvp_f32", "logsumexp_hessian_f64", "multi_block", "no_inputs_hessian"):
        assert _verdict(right, name).status == "pass", name


def test_gradient_instead_of_hvp_is_caught() -> None:
    def first(x: Any, v: Any, a: Any, opts: SecondDerivativeOptions) -> Any:
        return _gradient(x.astype(float), a.astype(float), opts.function).astype(x.dtype)

    _bad(_verdict(first, "tanh_hvp_f32"), "elements differ")


def test_logsumexp_hessian_without_the_outer_product_is_caught() -> None:
    """diag(p) alone (the softmax's own diagonal Jacobian, forgetting -p p^T)."""

    def diagonal(x: Any, v: Any, a: Any, opts: SecondDerivativeOptions) -> Any:
        e = np.exp(x - x.max())
        p = e / e.sum()
        return (np.diag(p) if opts.result == "hessian" else p * v).astype(x.dtype)

    _bad(_verdict(diagonal, "logsumexp_hessian_f64"), "elements differ")
    _bad(_verdict(diagonal, "logsumexp_hvp_f32"), "elements differ")


def test_tanh_first_derivative_as_curvature_is_caught() -> None:
    """tanh' = 1 - t^2 where tanh'' = -2t(1 - t^2) belongs."""

    def slope(x: Any, v: Any, a: Any, opts: SecondDerivativeOptions) -> Any:
        d = 1.0 - np.tanh(a @ x) ** 2
        return (a.T @ (d * (a @ v))).astype(x.dtype)

    _bad(_verdict(slope, "tanh_hvp_f32"), "elements differ")


def test_finite_difference_hvp_in_working_precision_is_caught() -> None:
    """(grad(x + h v) - grad(x - h v))/2h in float32: cancellation swamps the result."""

    def fd(x: Any, v: Any, a: Any, opts: SecondDerivativeOptions) -> Any:
        h = np.float32(1e-3)
        up = _gradient((x + h * v).astype(np.float32), a, opts.function).astype(np.float32)
        down = _gradient((x - h * v).astype(np.float32), a, opts.function).astype(np.float32)
        return ((up - down) / (2 * h)).astype(x.dtype)

    _bad(_verdict(fd, "tanh_hvp_f32"), "elements differ")


def test_blocked_hessian_wrong_past_its_first_block_is_caught() -> None:
    """A tiled A^T diag(d) A that drops the units past the first 256."""

    def first_block(x: Any, v: Any, a: Any, opts: SecondDerivativeOptions) -> Any:
        a = a[:256]
        d = curvature(opts.function, a @ x)
        return (a.T @ (d[:, None] * a)).astype(x.dtype)

    assert _verdict(first_block, "tanh_hessian_f32").status == "pass"
    _bad(_verdict(first_block, "multi_block"), "elements differ")


def test_float32_arithmetic_on_float64_inputs_is_caught() -> None:
    def low(x: Any, v: Any, a: Any, opts: SecondDerivativeOptions) -> Any:
        x64, v64, a64 = (np.asarray(t, np.float32).astype(np.float64) for t in (x, v, a))
        out = autograd_second_derivative(x64, v64, a64, opts)
        return out.astype(np.float32).astype(x.dtype)

    _bad(_verdict(low, "tanh_hessian_f64"), "elements differ")


def test_wrong_shape_on_an_empty_case_is_caught() -> None:
    def hvp_shape(x: Any, v: Any, a: Any, opts: SecondDerivativeOptions) -> Any:
        return np.zeros(x.shape, x.dtype)

    _bad(_verdict(hvp_shape, "no_inputs_hessian"))


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("function", FUNCTIONS)
def test_oracle_matches_central_differences_and_torch(seed: int, function: str) -> None:
    rng = np.random.default_rng(seed)
    n, m = 7, 5
    x, v = rng.standard_normal(n), rng.standard_normal(n)
    a = rng.standard_normal((m, n))
    if function == "relu_layer":  # keep a_j.x away from the kinks for the differences
        a[np.abs(a @ x) < 0.1] *= 0.0
    hess = autograd_second_derivative(x, v, a, SecondDerivativeOptions(function, "hessian"))
    hvp = autograd_second_derivative(x, v, a, SecondDerivativeOptions(function, "hvp"))
    np.testing.assert_allclose(hess @ v, hvp, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(hess, hess.T, rtol=0, atol=1e-14)
    h = 1e-5
    fd = np.stack(
        [
            (_gradient(x + h * e, a, function) - _gradient(x - h * e, a, function)) / (2 * h)
            for e in np.eye(n)
        ]
    )
    np.testing.assert_allclose(hess, fd, rtol=1e-6, atol=1e-7)

    ta = torch.tensor(a)

    def f(t: Any) -> Any:
        if function == "cubic":
            return (t**3).sum()
        if function == "logsumexp":
            return torch.logsumexp(t, dim=0)
        z = ta @ t
        return (torch.tanh(z) if function == "tanh_layer" else torch.relu(z)).sum()

    auto = HESSIAN(f, torch.tensor(x))
    np.testing.assert_allclose(hess, auto.numpy(), rtol=1e-12, atol=1e-12)
    leaf = torch.tensor(x, requires_grad=True)
    assert torch.autograd.gradgradcheck(f, (leaf,))


def test_torch_refuses_the_two_misuses() -> None:
    """A vector output without grad_outputs, and differentiating a gradient built without
    create_graph: both RuntimeError (what the library adapters avoid)."""
    x = torch.linspace(-1, 1, 5, dtype=torch.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar outputs"):
        torch.autograd.grad(x**3, x)
    (g,) = torch.autograd.grad((x**3).sum(), x)
    with pytest.raises(RuntimeError, match="does not require grad"):
        torch.autograd.grad(g, x, torch.ones_like(x))
