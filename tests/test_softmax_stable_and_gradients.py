"""softmax_stable_and_gradients: the suites catch the classic mistakes, and the oracle's VJP is
the derivative of its forward (finite differences, torch float64 autograd).

Each wrong implementation below is one mistake people make; verify must flag it on the case
built for it (and, where it says so, pass it on an ordinary case: the edge case is what
catches it). Seeds are the suites' fixed ones, and 0..5 for the gradient checks, chosen
before the checks were written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation, load_registry
from harness.spec import Suite
from harness.verify import Verdict, verify
from suites.softmax_stable_and_gradients import (
    BACKWARD_SUITE,
    SUITE,
    SoftmaxOptions,
    normalized_axis,
    softmax_stable_and_gradients,
    softmax_stable_and_gradients_backward,
)

TILE = 512  # the online kernels' tile width (the multi_tile cases are 1500 long)


def _verdict(fn: Callable[..., Any], case: str, suite: Suite = SUITE, **kw: Any) -> Verdict:
    impl = Implementation(suite.algorithm, "numpy", "wrong", fn, **kw)
    return verify(suite, impl, suite.find_case(case))


def _bad(v: Verdict, *phrases: str) -> None:
    assert v.status in ("fail", "error"), (v.status, v.detail)
    for phrase in phrases:
        assert phrase in v.detail, v.detail


def _rows(x: Any, opts: SoftmaxOptions) -> tuple[np.ndarray, int]:
    axis = normalized_axis(opts)
    return np.moveaxis(np.asarray(x), axis, -1), axis


def _rowwise(step: Callable[[np.ndarray, SoftmaxOptions], np.ndarray]) -> Callable[..., Any]:
    """An implementation from a per-row (rows, L) computation in x's dtype."""

    def impl(x: Any, opts: SoftmaxOptions) -> Any:
        z, axis = _rows(x, opts)
        with np.errstate(all="ignore"):
            out = step(z, opts)
        return np.ascontiguousarray(np.moveaxis(out, -1, axis)).astype(x.dtype)

    return impl


def _stable(z: np.ndarray, opts: SoftmaxOptions) -> np.ndarray:
    """Right, in z's dtype, except for the all -inf rows (NaN here, whatever the option)."""
    top = z.max(axis=-1, keepdims=True, initial=-np.inf)
    e = np.exp(z - top)
    total = e.sum(axis=-1, keepdims=True)
    return e / total if opts.function == "softmax" else (z - top) - np.log(total)


def _right(z: np.ndarray, opts: SoftmaxOptions) -> np.ndarray:
    out = _stable(z, opts)
    dead = np.all(z == -np.inf, axis=-1) & (z.shape[-1] > 0)
    out[dead] = np.nan if opts.all_neg_inf == "nan" else 0.0
    return out


REGISTRY = load_registry()
NUMPY = REGISTRY.implementations["softmax_stable_and_gradients/numpy/blocked"]
NUMPY_BACKWARD = REGISTRY.implementations["softmax_stable_and_gradients.backward/numpy/blocked"]


def test_the_correct_variants_and_the_project_implementation_pass_the_cases_used_below() -> None:
    for case in ("random_f32", "logits_1000", "wide_spread_log", "multi_tile", "axis0_f32"):
        assert _verdict(_rowwise(_right), case).status == "pass", case
        assert verify(SUITE, NUMPY, SUITE.find_case(case)).status == "pass", case
    for case in ("random_f32", "random_f64", "dominant", "all_neg_inf_rows_zero"):
        v = verify(BACKWARD_SUITE, NUMPY_BACKWARD, BACKWARD_SUITE.find_case(case))
        assert v.status == "pass", (case, v.detail)


# ---- the forward's classic mistakes -----------------------------------------------------


def test_no_max_subtraction_overflows_at_logits_1000() -> None:
    def naive(z: np.ndarray, opts: SoftmaxOptions) -> np.ndarray:
        e = np.exp(z)
        return e / e.sum(axis=-1, keepdims=True)

    assert _verdict(_rowwise(naive), "random_f32").status == "pass"
    _bad(_verdict(_rowwise(naive), "logits_1000"), "NaN where the oracle has a number")
    _bad(_verdict(_rowwise(naive), "very_negative"), "NaN where the oracle has a number")


def test_log_softmax_as_log_of_softmax_underflows_to_minus_inf() -> None:
    def log_of_softmax(z: np.ndarray, opts: SoftmaxOptions) -> np.ndarray:
        return np.log(_stable(z, SoftmaxOptions()))

    assert _verdict(_rowwise(log_of_softmax), "log_random_f32").status == "pass"
    _bad(_verdict(_rowwise(log_of_softmax), "wide_spread_log"), "infinite values that differ")
    _bad(_verdict(_rowwise(log_of_softmax), "wide_spread_log_f64"), "infinite values")


def test_float32_arithmetic_on_float64_inputs_is_caught() -> None:
    def in_float32(z: np.ndarray, opts: SoftmaxOptions) -> np.ndarray:
        return _right(z.astype(np.float32), opts)

    _bad(_verdict(_rowwise(in_float32), "random_f64"), "finite values off")
    _bad(_verdict(_rowwise(in_float32), "log_random_f64"), "finite values off")


def _online(rescale: bool, every_tile: bool) -> Callable[..., Any]:
    """A tiled online softmax: running max and sum over tiles of TILE entries."""

    def step(z: np.ndarray, opts: SoftmaxOptions) -> np.ndarray:
        top = np.full((*z.shape[:-1], 1), -np.inf, dtype=z.dtype)
        total = np.zeros_like(top)
        for j0 in range(0, z.shape[-1], TILE if every_tile else z.shape[-1] + 1):
            tile = z[..., j0 : j0 + TILE]
            new_top = np.maximum(top, tile.max(axis=-1, keepdims=True))
            if rescale:  # the sum so far was taken under the old max
                total = total * np.exp(top - new_top)
            top = new_top
            total = total + np.exp(tile - top).sum(axis=-1, keepdims=True)
        if opts.function == "log_softmax":
            return (z - top) - np.log(total)
        return np.exp(z - top) / total

    return _rowwise(step)


def test_an_online_kernel_wrong_past_its_first_tile_is_caught() -> None:
    assert _verdict(_online(rescale=True, every_tile=True), "multi_tile").status == "pass"
    for wrong in (_online(rescale=False, every_tile=True), _online(rescale=True, every_tile=False)):
        assert _verdict(wrong, "random_f32").status == "pass"  # one tile: no difference
        _bad(_verdict(wrong, "multi_tile"), "finite values off")
        _bad(_verdict(wrong, "multi_tile_log_f64"), "finite values off")


def test_the_all_minus_inf_convention_is_enforced_both_ways() -> None:
    def always_zero(z: np.ndarray, opts: SoftmaxOptions) -> np.ndarray:  # "safe softmax"
        return _right(z, SoftmaxOptions(opts.function, "zero"))

    def always_nan(z: np.ndarray, opts: SoftmaxOptions) -> np.ndarray:  # no special case
        return _stable(z, opts)

    assert _verdict(_rowwise(always_zero), "all_neg_inf_rows_zero").status == "pass"
    _bad(_verdict(_rowwise(always_zero), "all_neg_inf_rows"), "numbers where the oracle has NaN")
    _bad(_verdict(_rowwise(always_nan), "all_neg_inf_rows_zero"), "NaN where the oracle has")
    _bad(_verdict(_rowwise(always_nan), "all_neg_inf_rows_log_zero"), "NaN where the oracle")


def test_plus_inf_as_a_hard_max_and_nan_skipping_max_are_caught() -> None:
    def one_hot_at_inf(z: np.ndarray, opts: SoftmaxOptions) -> np.ndarray:
        out = _right(z, opts)
        hot = np.isposinf(z)
        rows = hot.any(axis=-1)
        out[rows] = hot[rows].astype(z.dtype)  # +inf taken as "certain": 1 there, 0 elsewhere
        return out

    def nan_skipping(z: np.ndarray, opts: SoftmaxOptions) -> np.ndarray:  # np.nanmax
        dead = np.nanmax(np.where(np.isnan(z), -np.inf, z), axis=-1) == -np.inf
        out = _stable(z, opts)
        out[dead] = np.nan if opts.all_neg_inf == "nan" else 0.0
        return out

    _bad(_verdict(_rowwise(one_hot_at_inf), "pos_inf"), "numbers where the oracle has NaN")
    _bad(_verdict(_rowwise(nan_skipping), "nan_propagates"), "numbers where the oracle has NaN")


def test_the_axis_is_honoured_and_an_invalid_one_raises() -> None:
    def last_axis_only(x: Any, opts: SoftmaxOptions) -> Any:
        return _right(np.asarray(x), opts)

    _bad(_verdict(last_axis_only, "axis0_f32"), "finite values off")
    impl = Implementation(SUITE.algorithm, "numpy", "wrong", last_axis_only)
    err = next(e for e in SUITE.error_cases if e.name == "axis_out_of_range")
    _bad(verify(SUITE, impl, err), "must raise ValueError")


def test_dtype_empty_shape_aliasing_and_input_writes_are_caught() -> None:
    def float32_out(x: Any, opts: SoftmaxOptions) -> Any:
        return _rowwise(_right)(x, opts).astype(np.float32)

    def flat_empty(x: Any, opts: SoftmaxOptions) -> Any:
        return np.empty((0,), x.dtype) if x.size == 0 else _rowwise(_right)(x, opts)

    def in_place(x: Any, opts: SoftmaxOptions) -> Any:  # softmax_ on the caller's array
        top = x.max(axis=-1, keepdims=True)
        np.subtract(x, top, out=x)
        np.exp(x, out=x)
        x /= x.sum(axis=-1, keepdims=True)
        return x

    def a_view(x: Any, opts: SoftmaxOptions) -> Any:  # a shortcut that hands back a view
        return x[:, :1] if x.shape[1] == 1 else _rowwise(_right)(x, opts)

    _bad(_verdict(float32_out, "float16"), "has dtype float32, expected float16")
    _bad(_verdict(flat_empty, "no_rows"), "has shape (0,), expected (0, 5)")
    _bad(_verdict(flat_empty, "empty_rows"), "has shape (0,), expected (3, 0)")
    _bad(_verdict(in_place, "random_f32"), "modified its input(s) ['x'] in place")
    _bad(_verdict(a_view, "row_length_1"), "output 'out' shares memory with input 'x'")


# ---- the backward's ------------------------------------------------------------------------


def _vjp_impl(rule: Callable[[np.ndarray, np.ndarray, np.ndarray, SoftmaxOptions], np.ndarray],
              work: Any = None) -> Callable[..., Any]:  # fmt: skip
    """A prepare=True backward from a per-row VJP rule (s: the probabilities)."""

    def impl(x: Any, g: Any, opts: SoftmaxOptions) -> Callable[[], Any]:
        z, axis = _rows(x, opts)
        gz, _ = _rows(g, opts)
        dtype = work or x.dtype
        with np.errstate(all="ignore"):
            s = _right(z.astype(dtype), SoftmaxOptions())

        def vjp() -> Any:
            with np.errstate(all="ignore"):
                out = rule(s, gz.astype(dtype), z, opts)
            out[np.all(z == -np.inf, axis=-1) & (z.shape[-1] > 0)] = (
                np.nan if opts.all_neg_inf == "nan" else 0.0
            )
            return np.ascontiguousarray(np.moveaxis(out, -1, axis)).astype(x.dtype)

        return vjp

    return impl


def _right_vjp(s: np.ndarray, g: np.ndarray, z: np.ndarray, opts: SoftmaxOptions) -> np.ndarray:
    if opts.function == "softmax":
        return s * (g - (g * s).sum(axis=-1, keepdims=True))
    return g - s * g.sum(axis=-1, keepdims=True)


def _bwd(fn: Callable[..., Any], case: str) -> Verdict:
    return _verdict(fn, case, BACKWARD_SUITE, prepare=True)


def test_the_correct_backward_variant_passes() -> None:
    for case in ("random_f32", "random_f64", "log_random_f64", "dominant", "axis0_log_f64"):
        assert _bwd(_vjp_impl(_right_vjp), case).status == "pass", case


def test_a_vjp_without_the_dot_term_is_caught() -> None:
    def no_dot(s: np.ndarray, g: np.ndarray, z: np.ndarray, opts: SoftmaxOptions) -> np.ndarray:
        return s * g if opts.function == "softmax" else g - s  # the Jacobian's diagonal only

    _bad(_bwd(_vjp_impl(no_dot), "random_f32"), "finite values off")
    _bad(_bwd(_vjp_impl(no_dot), "dominant"), "finite values off")
    _bad(_bwd(_vjp_impl(no_dot), "log_random_f32"), "finite values off")


def test_the_softmax_rule_on_log_softmax_and_back_is_caught() -> None:
    def swapped(s: np.ndarray, g: np.ndarray, z: np.ndarray, opts: SoftmaxOptions) -> np.ndarray:
        other = "log_softmax" if opts.function == "softmax" else "softmax"
        return _right_vjp(s, g, z, SoftmaxOptions(other))

    _bad(_bwd(_vjp_impl(swapped), "random_f32"), "finite values off")
    _bad(_bwd(_vjp_impl(swapped), "log_random_f32"), "finite values off")


def test_backward_in_float32_on_float64_inputs_is_caught() -> None:
    _bad(_bwd(_vjp_impl(_right_vjp, work=np.float32), "random_f64"), "finite values off")
    _bad(_bwd(_vjp_impl(_right_vjp, work=np.float32), "log_random_f64"), "finite values off")


def test_backward_all_minus_inf_rows_follow_the_convention() -> None:
    def nan_always(x: Any, g: Any, opts: SoftmaxOptions) -> Callable[[], Any]:
        return _vjp_impl(_right_vjp)(x, g, SoftmaxOptions(opts.function, "nan", opts.axis))

    _bad(_bwd(nan_always, "all_neg_inf_rows_zero"), "NaN where the oracle has a number")
    _bad(_bwd(nan_always, "all_neg_inf_rows_log_zero"), "NaN where the oracle has a number")


# ---- the oracle's gradient: finite differences and torch float64 autograd -----------------

GRAD_CASES = [
    (seed, fn, axis, loc)
    for seed in range(6)
    for fn, axis, loc in (
        ("softmax", -1, 0.0),
        ("log_softmax", -1, 0.0),
        ("softmax", 0, 1000.0),
        ("log_softmax", 0, -1000.0),
    )
]


def _small(seed: int, loc: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(1, 5)), int(rng.integers(1, 7))
    return loc + 2.0 * rng.standard_normal((m, n)), rng.standard_normal((m, n))


@pytest.mark.parametrize(("seed", "function", "axis", "loc"), GRAD_CASES)
def test_the_oracle_vjp_matches_central_differences(
    seed: int, function: str, axis: int, loc: float
) -> None:
    x, g = _small(seed, loc)
    opts = SoftmaxOptions(function=function, axis=axis)
    vjp = softmax_stable_and_gradients_backward(x, g, opts)
    h = 1e-6  # d/dx_j of <g, f(x)>; f is smooth, central differences err ~h² ~ 1e-12
    numeric = np.empty_like(x)
    for j in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[j] = h
        up = softmax_stable_and_gradients(x + step, opts)
        down = softmax_stable_and_gradients(x - step, opts)
        numeric[j] = np.sum(g * (up - down)) / (2 * h)
    # rounding in f(x ± h) (~1e-16·|f| / h) dominates: 1e-7 absolute, 1e-6 relative
    np.testing.assert_allclose(vjp, numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(("seed", "function", "axis", "loc"), GRAD_CASES)
def test_the_oracle_vjp_matches_torch_float64_autograd(
    seed: int, function: str, axis: int, loc: float
) -> None:
    torch = pytest.importorskip("torch")
    x, g = _small(seed, loc)
    xt = torch.from_numpy(x).requires_grad_(True)
    fn = torch.softmax if function == "softmax" else torch.log_softmax
    y = fn(xt, dim=axis)
    (grad,) = torch.autograd.grad(y, xt, torch.from_numpy(g))
    opts = SoftmaxOptions(function=function, axis=axis)
    np.testing.assert_allclose(
        softmax_stable_and_gradients(x, opts), y.detach().numpy(), rtol=1e-12, atol=1e-15
    )
    np.testing.assert_allclose(
        softmax_stable_and_gradients_backward(x, g, opts), grad.numpy(), rtol=1e-10, atol=1e-13
    )


def test_torch_gradcheck_agrees_on_a_slice_with_minus_inf_entries() -> None:
    torch = pytest.importorskip("torch")
    x = np.array([[0.5, -np.inf, 2.0, -1.0], [3.0, 3.0, -np.inf, 0.0]])
    g = np.array([[1.0, 2.0, -1.0, 0.5], [0.25, -2.0, 4.0, 1.0]])
    for function in ("softmax", "log_softmax"):
        xt = torch.from_numpy(x).requires_grad_(True)
        fn = torch.softmax if function == "softmax" else torch.log_softmax
        (grad,) = torch.autograd.grad(fn(xt, dim=-1), xt, torch.from_numpy(g))
        ours = softmax_stable_and_gradients_backward(x, g, SoftmaxOptions(function=function))
        np.testing.assert_allclose(ours, grad.numpy(), rtol=1e-12, atol=1e-15)


# ---- the stable sigmoid (function='sigmoid') ---------------------------------------------


def _elementwise(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[..., Any]:
    """A forward implementation applying fn elementwise in x's dtype."""

    def impl(x: Any, opts: SoftmaxOptions) -> Any:
        normalized_axis(opts)
        with np.errstate(all="ignore"):
            return fn(np.asarray(x)).astype(x.dtype)

    return impl


def _elementwise_backward(slope: Callable[[np.ndarray], np.ndarray]) -> Callable[..., Any]:
    """A backward implementation g·slope(x) in x's dtype."""

    def impl(x: Any, g: Any, opts: SoftmaxOptions) -> Any:
        normalized_axis(opts)
        with np.errstate(all="ignore"):
            return (np.asarray(g) * slope(np.asarray(x))).astype(x.dtype)

    return impl


def _sigmoid(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def test_the_one_sided_sigmoid_forms_overflow_on_their_bad_side() -> None:
    """e^x/(1 + e^x) is inf/inf at x ~ +1000; 1/(1 + e^-x) is right (1/inf = 0) but
    overflows on the way, so only the first form is a wrong answer the suite must catch."""
    exp_form = _elementwise(lambda z: np.exp(z) / (1 + np.exp(z)))
    assert _verdict(_elementwise(_sigmoid), "sigmoid_wide_spread_f64").status == "pass"
    assert _verdict(exp_form, "sigmoid_f32").status == "pass"
    _bad(_verdict(exp_form, "sigmoid_logits_1000"), "NaN where the oracle has a number")
    _bad(_verdict(exp_form, "sigmoid_wide_spread_f64"), "NaN where the oracle has a number")


def test_the_dead_slice_rule_does_not_apply_to_the_sigmoid() -> None:
    """sigmoid(-inf) = 0: a row of -inf gives zeros, not the softmax's NaN slice."""

    def dead_rows_nan(z: np.ndarray) -> np.ndarray:
        out = _sigmoid(z)
        out[np.all(z == -np.inf, axis=-1)] = np.nan
        return out

    _bad(_verdict(_elementwise(dead_rows_nan), "sigmoid_neg_inf_rows"), "NaN where the oracle")


def test_the_sigmoid_derivative_must_not_overflow() -> None:
    """σ' = e^-x/(1 + e^-x)^2 is inf/inf at x ~ -1000; σ·(1 - σ) and e/(1 + e)^2 with
    e = exp(-|x|) are fine; the suite's numpy implementation is the latter."""

    def naive(z: np.ndarray) -> np.ndarray:
        return np.exp(-z) / (1 + np.exp(-z)) ** 2

    right = _elementwise_backward(lambda z: _sigmoid(z) * (1 - _sigmoid(z)))
    for case in ("sigmoid_f32", "sigmoid_very_negative", "sigmoid_wide_spread_f64"):
        assert _verdict(right, case, BACKWARD_SUITE).status == "pass", case
        v = verify(BACKWARD_SUITE, NUMPY_BACKWARD, BACKWARD_SUITE.find_case(case))
        assert v.status == "pass", (case, v.detail)
    _bad(_verdict(_elementwise_backward(naive), "sigmoid_very_negative", BACKWARD_SUITE), "NaN")
    # the softmax VJP applied to the sigmoid: a different function altogether
    softmax_rule = _elementwise_backward(lambda z: _sigmoid(z))
    _bad(_verdict(softmax_rule, "sigmoid_f32", BACKWARD_SUITE), "elements differ")


def test_the_sigmoid_oracle_matches_scipy_expit_and_torch_autograd() -> None:
    import scipy.special

    torch = pytest.importorskip("torch")
    x = np.concatenate([np.linspace(-800, 800, 101), [-np.inf, np.inf, 0.0, -0.0]])[None, :]
    opts = SoftmaxOptions(function="sigmoid")
    np.testing.assert_allclose(
        softmax_stable_and_gradients(x, opts), scipy.special.expit(x), rtol=1e-15, atol=1e-300
    )
    g = np.random.default_rng(0).standard_normal(x.shape)
    t = torch.from_numpy(x[:, :-4].copy()).requires_grad_(True)
    (grad,) = torch.autograd.grad(torch.sigmoid(t), t, torch.from_numpy(g[:, :-4].copy()))
    expected = softmax_stable_and_gradients_backward(x[:, :-4], g[:, :-4], opts)
    # torch's sigmoid backward is g·σ·(1 - σ): for x >> 0 the 1 - σ cancels to an absolute
    # error ~ eps·|g| (|g| < 5 here), where the oracle keeps e^-x exactly
    np.testing.assert_allclose(grad.numpy(), expected, rtol=1e-12, atol=5 * 2.0**-52)
