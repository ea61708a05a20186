"""batchnorm_backward: the oracle against finite differences and torch float64 autograd, and
the pitfalls the suite must catch, each as a deliberately wrong implementation run through
``verify`` on the suite's own cases (no randomness beyond the suite's recorded seeds)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.spec import Case
from harness.verify import case_inputs, oracle_output, verify
from implementations.batchnorm_backward.numpy_blocked import batchnorm_backward as numpy_blocked
from suites.batchnorm_backward import (
    COMPARE,
    SUITE,
    BatchNormBackwardOptions,
    inverse_std,
    magnitudes,
)

Opts = BatchNormBackwardOptions


# ---- the oracle is the gradient -------------------------------------------------------------


def _forward(x: np.ndarray, weight: np.ndarray, opts: Opts, rm: np.ndarray, rv: np.ndarray) -> Any:
    """y of F.batch_norm (bias 0: it does not change the gradients), float64."""
    axes = (0, *range(2, x.ndim))
    bshape = (1, -1, *([1] * (x.ndim - 2)))
    if opts.training:
        mean, var = x.mean(axis=axes), x.var(axis=axes)  # biased, as the forward normalises
    else:
        mean, var = rm, rv
    return (
        weight.reshape(bshape)
        * (x - mean.reshape(bshape))
        / np.sqrt(var + opts.eps).reshape(bshape)
    )


def _saved(x: np.ndarray, opts: Opts) -> tuple[np.ndarray, np.ndarray]:
    axes = (0, *range(2, x.ndim))
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    return mean, (1.0 / np.sqrt(var + opts.eps) if opts.saved_stat_is == "invstd" else var)


SMALL = [
    ((5, 3), {}),
    ((4, 2, 3), {"saved_stat_is": "var"}),
    ((3, 2, 2, 3), {"eps": 1e-3}),
    ((3, 2, 2, 3), {"training": False}),
    ((6, 2), {"training": False, "saved_stat_is": "var"}),
]


@pytest.mark.parametrize(("shape", "options"), SMALL)
def test_oracle_agrees_with_central_differences(
    shape: tuple[int, ...], options: dict[str, Any]
) -> None:
    """d/dx, d/dweight, d/dbias of sum(dy*y) by central differences (h = 1e-6, float64)."""
    opts = Opts(**options)
    rng = np.random.default_rng(2024)  # fixed once; any seed gives well-conditioned draws
    x, dy = rng.normal(1.0, 2.0, shape), rng.standard_normal(shape)
    weight, rm, rv = (
        rng.uniform(0.5, 1.5, shape[1]),
        rng.normal(size=shape[1]),
        rng.uniform(1, 2, shape[1]),
    )
    dx, dweight, dbias = SUITE.oracle(dy, x, weight, rm, rv, *_saved(x, opts), opts)

    def loss(xv: np.ndarray, wv: np.ndarray, b: np.ndarray) -> float:
        bshape = (1, -1, *([1] * (len(shape) - 2)))
        return float(np.sum(dy * (_forward(xv, wv, opts, rm, rv) + b.reshape(bshape))))

    def numeric(arg: int) -> np.ndarray:
        values = [x, weight, np.zeros(shape[1])]
        out = np.empty_like(values[arg])
        for i in np.ndindex(values[arg].shape):
            up, down = [v.copy() for v in values], [v.copy() for v in values]
            up[arg][i] += 1e-6
            down[arg][i] -= 1e-6
            out[i] = (loss(*up) - loss(*down)) / 2e-6
        return out

    for got, arg in ((dx, 0), (dweight, 1), (dbias, 2)):
        np.testing.assert_allclose(got, numeric(arg), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(("shape", "options"), SMALL)
def test_oracle_agrees_with_torch_float64_autograd(
    shape: tuple[int, ...], options: dict[str, Any]
) -> None:
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    opts = Opts(**options)
    rng = np.random.default_rng(7)
    x, dy = rng.normal(-1.0, 0.5, shape), rng.standard_normal(shape)
    weight, rm, rv = (
        rng.uniform(-1.5, 1.5, shape[1]),
        rng.normal(size=shape[1]),
        rng.uniform(1, 2, shape[1]),
    )
    expected = SUITE.oracle(dy, x, weight, rm, rv, *_saved(x, opts), opts)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(weight, requires_grad=True)
    bt = torch.zeros(shape[1], dtype=torch.float64, requires_grad=True)
    rmt, rvt = (None, None) if opts.training else (torch.tensor(rm), torch.tensor(rv))
    y = F.batch_norm(xt, rmt, rvt, wt, bt, training=opts.training, eps=opts.eps)
    got = torch.autograd.grad(y, (xt, wt, bt), torch.tensor(dy))
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g.numpy(), e, rtol=1e-12, atol=1e-12)


def test_torch_gradcheck_of_the_training_formula() -> None:
    """torch's own float64 gradcheck of F.batch_norm(training=True), the reference the oracle
    is held to (a small case: gradcheck is quadratic in the input size)."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    gen = torch.Generator().manual_seed(3)
    x = torch.randn(4, 3, 2, dtype=torch.float64, generator=gen, requires_grad=True)
    w = torch.rand(3, dtype=torch.float64, generator=gen).add(0.5).requires_grad_()
    b = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda xa, wa, ba: F.batch_norm(xa, None, None, wa, ba, training=True), (x, w, b)
    )


# ---- the tolerance is relative to the terms, not to the (cancelled) result -------------------


def test_cancelling_dy_needs_the_terms_tolerance() -> None:
    """dy = a + b*xhat + 1e-3 noise: dx is ~1e-3 of its terms. A correct float32 kernel is
    within rtol*M but off by many rtol*|dx|, so a tolerance relative to |dx| would fail it."""
    case = SUITE.find_case("cancelling_dy_f32")
    assert isinstance(case, Case)
    inputs = case_inputs(SUITE, case)
    expected, m_dx = oracle_output(SUITE, case)[0], magnitudes(inputs, case)[0]
    assert np.median(np.abs(expected) / m_dx) < 1e-2
    got = numpy_blocked(*SUITE.call_args([np.array(v) for v in inputs.values()], case))[0]
    rtol = COMPARE.parts["dx"].tolerance(case).rtol
    err = np.abs(got - expected)
    assert np.all(err <= rtol * m_dx)
    assert np.any(err > rtol * np.abs(expected))


# ---- pitfalls: deliberately wrong implementations --------------------------------------------


@dataclasses.dataclass(frozen=True)
class Mistakes:
    eval_formula: str = "right"  # "always_eval" | "always_train"
    dweight_from_x: bool = False
    no_mean_term: bool = False
    recompute_unbiased: bool = False
    stat_always_invstd: bool = False
    forget_eps: bool = False
    float32: bool = False
    uncentred: bool = False
    wrong_past_channel: int | None = None
    skip_dy_check: bool = False
    empty_dx_shape: bool = False
    eval_returns_dy: bool = False  # dx a view of dy (a shortcut for weight*invstd = 1)
    eval_in_place: bool = False  # dx computed into dy


def _wrong(m: Mistakes) -> Callable[..., Any]:
    """A plain NumPy batchnorm backward with the mistakes ``m`` switches on."""

    def fn(dy: Any, x: Any, weight: Any, rm: Any, rv: Any, sm: Any, ss: Any, opts: Opts) -> Any:
        if not m.skip_dy_check and dy.shape != x.shape:
            raise ValueError(f"dy must have x's shape {x.shape}, got {dy.shape}")
        if x.size == 0 and m.empty_dx_shape:
            zero = np.zeros_like(weight)
            return np.empty((0,), x.dtype), zero, zero.copy()
        dt = np.float32 if m.float32 else x.dtype.type
        n, c = x.shape[:2]
        shape3 = (n, c, int(np.prod(x.shape[2:])))
        dy3, x3 = (
            dy.reshape(shape3).astype(dt, copy=False),
            x.reshape(shape3).astype(dt, copy=False),
        )
        k = max(x3.shape[0] * x3.shape[2], 1)
        training = {"always_eval": False, "always_train": True}.get(m.eval_formula, opts.training)
        eps = 0.0 if m.forget_eps else opts.eps
        if not opts.training:
            mean, invstd = rm.astype(dt), 1.0 / np.sqrt(rv.astype(dt) + dt(eps))
        elif m.recompute_unbiased:
            mean, invstd = x3.mean(axis=(0, 2)), 1.0 / np.sqrt(x3.var(axis=(0, 2), ddof=1) + eps)
        elif m.stat_always_invstd:
            mean, invstd = sm.astype(dt), ss.astype(dt)
        else:
            mean = sm.astype(dt)
            invstd = inverse_std(ss.astype(dt), dataclasses.replace(opts, eps=eps))
        xc = x3 - mean[:, None]
        dbias = dy3.sum(axis=(0, 2))
        if m.uncentred:  # sum dy*x - mean*sum dy: cancels at large means
            s_dxc = np.einsum("ncl,ncl->c", dy3, x3) - mean * dbias
        else:
            s_dxc = np.einsum("ncl,ncl->c", dy3, xc)
        dweight = (np.einsum("ncl,ncl->c", dy3, x3) if m.dweight_from_x else s_dxc) * invstd
        k1 = (weight.astype(dt) * invstd)[:, None]
        dx = k1 * dy3
        if not opts.training and (m.eval_returns_dy or m.eval_in_place):
            dx = np.multiply(dy3, k1, out=dy3) if m.eval_in_place else dy3
            return dx.reshape(x.shape), (s_dxc * invstd).astype(x.dtype), dbias.astype(x.dtype)
        if training:
            dx = k1 * (dy3 - xc * (invstd * invstd * s_dxc / k)[:, None])
            if not m.no_mean_term:
                dx -= k1 * (dbias / k)[:, None]
        if m.wrong_past_channel is not None:  # a second block that reuses the first's sums
            dweight[m.wrong_past_channel :] = dweight[: c - m.wrong_past_channel]
        out = (dx.reshape(x.shape), dweight, dbias)
        return tuple(np.asarray(o).astype(x.dtype) for o in out)

    return fn


def _verdict(m: Mistakes, case_name: str) -> Any:
    impl = Implementation("batchnorm_backward", "numpy", "wrong", _wrong(m))
    case = SUITE.find_case(case_name)
    return verify(SUITE, impl, case)


CORRECT_ON = [
    "train_4d_f32", "train_4d_f64", "saved_var_eps_1e-3_f32", "saved_var_f64", "eval_f32",
    "eval_eps_1e-3_f64", "multi_block", "zero_variance_saved_var_f64", "large_offset_f32",
    "large_offset_f64", "empty_batch_training", "zero_channels_4d", "dy_spatial_mismatch",
]  # fmt: skip


@pytest.mark.parametrize("case_name", CORRECT_ON)
def test_the_switchboard_without_mistakes_passes(case_name: str) -> None:
    """The wrong variants below differ from this correct one by one switch each."""
    assert _verdict(Mistakes(), case_name).status == "pass"


PITFALLS = [
    # (mistake, a case that catches it, words the diagnosis must contain)
    (Mistakes(eval_formula="always_eval"), "train_4d_f32", "output 'dx'"),
    (Mistakes(eval_formula="always_train"), "eval_f32", "output 'dx'"),
    (Mistakes(dweight_from_x=True), "train_4d_f32", "output 'dweight'"),
    (Mistakes(no_mean_term=True), "train_4d_f32", "output 'dx'"),
    (Mistakes(recompute_unbiased=True), "train_4d_f32", "output 'dx'"),
    (Mistakes(stat_always_invstd=True), "saved_var_f64", "output 'dx'"),
    (Mistakes(forget_eps=True), "eval_eps_1e-3_f64", "output 'dx'"),
    (Mistakes(forget_eps=True), "zero_variance_saved_var_f64", "NaN where the oracle has a number"),
    (Mistakes(float32=True), "train_4d_f64", "output 'dx'"),
    (Mistakes(uncentred=True), "large_offset_f32", "output 'dweight'"),
    (Mistakes(uncentred=True), "large_offset_f64", "output 'dweight'"),
    (Mistakes(wrong_past_channel=256), "multi_block", "output 'dweight'"),
    (Mistakes(skip_dy_check=True), "dy_spatial_mismatch", "does not match"),
    (Mistakes(empty_dx_shape=True), "empty_batch_training", "output 'dx' has shape (0,)"),
    (Mistakes(eval_returns_dy=True), "eval_f32", "output 'dx' shares memory with input 'dy'"),
    (Mistakes(eval_in_place=True), "eval_f32", "modified its input(s) ['dy']"),
]


@pytest.mark.parametrize(("mistake", "case_name", "words"), PITFALLS)
def test_pitfall_is_caught(mistake: Mistakes, case_name: str, words: str) -> None:
    verdict = _verdict(mistake, case_name)
    assert verdict.status in ("fail", "error"), verdict
    assert words in verdict.detail, verdict.detail


def test_the_subtle_pitfalls_pass_where_they_cannot_show() -> None:
    """The large-offset and past-the-first-block cases are what catch these two: elsewhere
    they pass, so the suite would miss them without those cases."""
    assert _verdict(Mistakes(uncentred=True), "train_4d_f32").status == "pass"
    assert _verdict(Mistakes(wrong_past_channel=256), "train_4d_f32").status == "pass"
