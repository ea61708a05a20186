"""gradient_accumulation: the suite catches the classic accumulation mistakes; the oracle
equals the full-batch gradient where it should and differs from it with BatchNorm (the
required negative test), and agrees with torch float64 autograd and finite differences.

Seeds are the suite's fixed ones and 0..2 for the property checks, chosen before the checks
were written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.verify import Verdict, verify
from suites.gradient_accumulation import (
    SUITE,
    AccumulationOptions,
    gradient_accumulation,
    make_inputs,
)

ORACLE: Callable[..., tuple[Any, ...]] = gradient_accumulation  # called with *arrays


def _verdict(fn: Callable[..., Any], case: str, **kw: Any) -> Verdict:
    impl = Implementation(SUITE.algorithm, "numpy", "wrong", fn, **kw)
    return verify(SUITE, impl, SUITE.find_case(case))


def _bad(v: Verdict, *phrases: str) -> None:
    assert v.status in ("fail", "error"), (v.status, v.detail)
    for phrase in phrases:
        assert phrase in v.detail, v.detail


def _cast(grads: tuple[Any, ...], x: Any) -> tuple[Any, ...]:
    return tuple(np.asarray(g).astype(x.dtype) for g in grads)


def _full_batch(x: Any, y: Any, w1: Any, b1: Any, w2: Any, b2: Any, mask: Any, sizes: Any,
                opts: AccumulationOptions) -> tuple[Any, ...]:  # fmt: skip
    """Ignores the micro-batches: one batch of B (the reference of the plain case)."""
    one = np.asarray([int(np.sum(sizes))])
    return _cast(gradient_accumulation(x, y, w1, b1, w2, b2, mask, one, opts), x)


def test_the_right_implementation_passes() -> None:
    def right(*args: Any) -> tuple[Any, ...]:
        return _cast(gradient_accumulation(*args), args[0])

    for name in ("k4_f32", "unequal_equal_scaling_f64", "batchnorm_unequal_f32", "no_hidden"):
        assert _verdict(right, name).status == "pass", name


def test_full_batch_gradient_passes_without_batchnorm_and_fails_with_it() -> None:
    """Without batch-coupled layers accumulation is the full-batch gradient; with BatchNorm
    in training mode each micro-batch has its own statistics and the two differ."""
    assert _verdict(_full_batch, "k4_f64").status == "pass"
    assert _verdict(_full_batch, "unequal_size_weights_f64").status == "pass"
    _bad(_verdict(_full_batch, "batchnorm_k4_f64"), "dw1")


def test_one_over_k_with_unequal_micro_batches_is_caught() -> None:
    """loss/K where the sizes differ: the mean of micro-batch means, not the batch mean."""

    def one_over_k(*args: Any) -> tuple[Any, ...]:
        equal = AccumulationOptions(scaling="equal")
        return _cast(ORACLE(*args[:-1], equal), args[0])

    assert _verdict(one_over_k, "k4_f32").status == "pass"  # equal sizes: the same
    _bad(_verdict(one_over_k, "unequal_size_weights_f64"), "elements differ")


def test_unscaled_micro_batch_losses_are_caught() -> None:
    """Forgetting to divide by K: K times the gradient."""

    def unscaled(*args: Any) -> tuple[Any, ...]:
        return tuple(4 * g for g in _cast(gradient_accumulation(*args), args[0]))

    _bad(_verdict(unscaled, "k4_f32"), "elements differ")


def test_not_zeroing_before_accumulating_is_caught() -> None:
    """.grad still holding an earlier backward (a warm-up step in setup, no zero_grad): the
    timed call adds onto it."""

    def stale(*args: Any) -> Callable[[], tuple[Any, ...]]:
        earlier = _cast(gradient_accumulation(*args), args[0])  # the setup's backward

        def run() -> tuple[Any, ...]:
            g = _cast(gradient_accumulation(*args), args[0])
            return tuple(a + b for a, b in zip(earlier, g, strict=True))

        return run

    _bad(_verdict(stale, "k4_f64", prepare=True), "elements differ")


def test_last_micro_batch_only_is_caught() -> None:
    """Overwriting .grad (zeroing inside the loop) keeps only the last micro-batch."""

    def last_only(x: Any, y: Any, w1: Any, b1: Any, w2: Any, b2: Any, mask: Any, sizes: Any,
                  opts: AccumulationOptions) -> tuple[Any, ...]:  # fmt: skip
        s = int(np.sum(sizes[:-1]))
        one = np.asarray([int(sizes[-1])])
        scale = sizes[-1] / np.sum(sizes) if opts.scaling == "size" else 1 / len(sizes)
        g = gradient_accumulation(x[s:], y[s:], w1, b1, w2, b2, mask[s:], one, opts)
        return _cast(tuple(scale * a for a in g), x)

    _bad(_verdict(last_only, "k4_f32"), "elements differ")


def test_float32_arithmetic_on_float64_inputs_is_caught() -> None:
    def low(*args: Any) -> tuple[Any, ...]:
        *arrays, sizes, opts = args
        lowered = [np.asarray(a, np.float32) for a in arrays]
        return _cast(ORACLE(*lowered, sizes, opts), args[0])

    _bad(_verdict(low, "k4_f64"), "elements differ")


def test_wrong_shape_on_an_empty_case_is_caught() -> None:
    def flat(*args: Any) -> tuple[Any, ...]:
        g = _cast(gradient_accumulation(*args), args[0])
        return (g[0].reshape(-1), *g[1:])

    _bad(_verdict(flat, "no_inputs"), "dw1")


def test_sizes_not_summing_to_the_batch_raise() -> None:
    inputs = make_inputs(SUITE.find_case("k4_f32"))  # type: ignore[arg-type]
    bad = {**inputs, "sizes": np.asarray([8, 8, 8])}
    with pytest.raises(ValueError, match="sizes"):
        ORACLE(*bad.values(), AccumulationOptions())


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("batchnorm", [False, True])
def test_oracle_matches_torch_autograd_and_finite_differences(seed: int, batchnorm: bool) -> None:
    import torch

    rng = np.random.default_rng(seed)
    sizes = np.asarray([3, 5, 4])
    b, d, h, o = 12, 4, 5, 3
    x, y = rng.standard_normal((b, d)), rng.standard_normal((b, o))
    w1, b1 = rng.standard_normal((d, h)), rng.standard_normal(h)
    w2, b2 = rng.standard_normal((h, o)), rng.standard_normal(o)
    mask = 2.0 * (rng.random((b, h)) > 0.3)
    opts = AccumulationOptions(scaling="size", batchnorm=batchnorm)
    got = gradient_accumulation(x, y, w1, b1, w2, b2, mask, sizes, opts)

    def loss(params: list[Any], lib: Any) -> Any:
        p1, q1, p2, q2 = params
        total, start = 0.0, 0
        for nk in sizes.tolist():
            xs, ys, ms = x[start : start + nk], y[start : start + nk], mask[start : start + nk]
            start += nk
            xs, ys, ms = (lib(v) for v in (xs, ys, ms))
            a = xs @ p1 + q1
            if batchnorm:
                mean = a.mean(0)
                var = ((a - mean) ** 2).mean(0)
                a = (a - mean) / (var + 1e-5) ** 0.5
            r = (a * (a > 0)) * ms
            out = r @ p2 + q2
            total = total + nk / b * (0.5 * ((out - ys) ** 2).sum(1)).mean()
        return total

    leaves = [torch.tensor(v, requires_grad=True) for v in (w1, b1, w2, b2)]
    auto = torch.autograd.grad(loss(leaves, torch.tensor), leaves)
    for g, a in zip(got, auto, strict=True):
        np.testing.assert_allclose(g, a.numpy(), rtol=1e-9, atol=1e-9)
    params, eps = [w1.copy(), b1.copy(), w2.copy(), b2.copy()], 1e-6
    for which in range(4):  # a few coordinates of each parameter
        flat = params[which].reshape(-1)
        for j in range(min(flat.size, 4)):
            old = flat[j]
            flat[j] = old + eps
            up = loss(params, np.asarray)
            flat[j] = old - eps
            down = loss(params, np.asarray)
            flat[j] = old
            fd = (up - down) / (2 * eps)
            assert abs(fd - got[which].reshape(-1)[j]) <= 1e-6 * (1 + abs(fd)), (which, j)
