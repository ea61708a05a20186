"""l1_l2_penalty: the suite catches the classic mistakes of weight-penalty code.

Each wrong implementation below makes one mistake (SGD's weight_decay taken for λ₂, the
factor-2 trap; a decoupled decay leaving the L2 term out of the gradient; a subgradient of
±1 or NaN at 0; biases penalised under select='weights'; a mean for a sum; a chunk or a
tensor list cut short; float32 arithmetic); verify must flag it on the case built for it,
and where it says so pass it on a case the mistake does not touch. Inputs are the suite's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation, load_registry
from harness.verify import Verdict, verify
from suites.l1_l2_penalty import SUITE, PenaltyOptions, check, l1_l2_penalty, penalised

Impl = Callable[..., Any]
Grad = Callable[[np.ndarray, float, float], np.ndarray]  # (w, λ₁, λ₂) -> gradient


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


def _grad(w: np.ndarray, a: float, b: float) -> np.ndarray:
    return a * np.sign(w) + 2 * b * w  # type: ignore[no-any-return]


def _impl(grad: Grad = _grad, work: Any = None, select: Callable[..., Any] = penalised,
          reduce: Callable[[np.ndarray], Any] = np.sum, limit: int = 1 << 62,
          tensors: int = 1 << 62) -> Impl:  # fmt: skip
    """An implementation from a gradient rule, in each parameter's dtype (or ``work``);
    ``limit``: values of a tensor that count in R; ``tensors``: tensors that are handled."""

    def impl(params: Any, is_weight: Any, l1: Any, l2: Any, opts: Any) -> Any:
        dtype = check(params, is_weight, l1, l2)
        a, b = float(l1), float(l2)
        total, grads = 0.0, []
        for i, (w, on) in enumerate(zip(params, select(is_weight, len(params), opts), strict=True)):
            x = w.astype(work or w.dtype).reshape(-1)
            if not on or i >= tensors:
                grads.append(np.zeros_like(w))
                continue
            with np.errstate(invalid="ignore"):
                total += a * float(reduce(np.abs(x[:limit]))) + b * float(reduce(x[:limit] ** 2))
                grads.append(grad(x, a, b).astype(w.dtype).reshape(w.shape))
        return np.asarray(total, dtype or np.float64), grads

    return impl


REGISTRY = load_registry()
# library/torch_sgd is left to verify: its first optimizer step imports torch._dynamo (seconds)
PROJECT = [
    REGISTRY.implementations[f"l1_l2_penalty/{k}"]
    for k in ("numpy/chunked", "library/torch_autograd")
]


def test_the_correct_variant_and_the_project_implementations_pass_the_cases_used_below() -> None:
    _ok(_impl(), "small", "small_f64", "weights_only", "zeros_subgradient", "multi_block",
        "empty_parameter", "no_parameters")  # fmt: skip
    for impl in PROJECT:
        for case in ("zeros_subgradient_f64", "mixed_dtypes_weights", "nan_parameter"):
            v = verify(SUITE, impl, SUITE.find_case(case))
            assert v.status == "pass", (impl.key, case, v.detail)


def test_sgd_weight_decay_taken_for_lambda_2_is_caught() -> None:
    """weight_decay = wd adds wd·w: the penalty λ₂·Σw² needs wd = 2λ₂."""
    factor_1 = _impl(lambda w, a, b: a * np.sign(w) + b * w)
    _ok(factor_1, "l1_only_f64")  # no L2 term: nothing to halve
    _bad(_verdict(factor_1, "small"), "output 'grads'", "finite values off")
    _bad(_verdict(factor_1, "l2_only"), "output 'grads'", "finite values off")


def test_a_decoupled_decay_leaving_l2_out_of_the_gradient_is_caught() -> None:
    """AdamW applies its decay to the weights, not the gradient: as a gradient of the
    penalty that is the L2 term missing."""
    decoupled = _impl(lambda w, a, b: a * np.sign(w))
    _ok(decoupled, "l1_only_f64")
    _bad(_verdict(decoupled, "small_f64"), "output 'grads'")


def test_the_subgradient_at_zero_must_be_zero() -> None:
    plus_one = _impl(lambda w, a, b: a * np.where(w >= 0, 1.0, -1.0) + 2 * b * w)
    ratio = _impl(lambda w, a, b: a * w / np.abs(w) + 2 * b * w)  # NaN at 0
    for wrong in (plus_one, ratio):
        _ok(wrong, "small")  # no exact zeros
        _bad(_verdict(wrong, "zeros_subgradient"), "output 'grads'")
    _bad(_verdict(ratio, "zeros_subgradient_f64"), "NaN where the oracle has a number")


def test_a_sign_that_maps_nan_to_zero_is_caught_on_l1_only() -> None:
    """torch.sign(NaN) is 0: an L1 gradient built on it loses a NaN parameter once the
    λ₂ term is skipped at λ₂ = 0 (as SGD skips weight_decay = 0)."""
    nan_to_zero = _impl(lambda w, a, b: a * np.nan_to_num(np.sign(w)) + (2 * b * w if b else 0))
    _ok(nan_to_zero, "nan_parameter")  # λ₂·w still carries the NaN
    _bad(_verdict(nan_to_zero, "nan_parameter_l1_only"), "numbers where the oracle has NaN")


def test_weights_only_must_leave_biases_and_norm_parameters_out() -> None:
    every = _impl(select=lambda flags, n, opts: [True] * n)
    _ok(every, "small")
    _bad(_verdict(every, "weights_only"), "output 'penalty'", "output 'grads'")
    _bad(_verdict(every, "resnet34_width4_weights_f64"), "output 'penalty'")


def test_a_mean_for_the_sum_is_caught() -> None:
    _bad(_verdict(_impl(reduce=np.mean), "small"), "output 'penalty'", "finite values off")


def test_a_chunk_or_a_tensor_list_cut_short_past_its_first_block_is_caught() -> None:
    first_chunk = _impl(limit=65536)  # only a tensor's first chunk summed into R
    first_list = _impl(tensors=256)  # a multi-tensor kernel's first list of 256 only
    for wrong in (first_chunk, first_list):
        _ok(wrong, "small", "resnet34_width4")  # tensors under 65,536 values; 85 tensors
    _bad(_verdict(first_chunk, "multi_block"), "output 'penalty'")
    _bad(_verdict(first_list, "multi_block"), "output 'grads'")


def test_float32_arithmetic_on_float64_inputs_is_caught() -> None:
    _bad(_verdict(_impl(work=np.float32), "small_f64"), "finite values off")


def test_wrong_shapes_lists_dtypes_and_input_writes_are_caught() -> None:
    def flat(params: Any, is_weight: Any, l1: Any, l2: Any, opts: Any) -> Any:
        r, grads = _impl()(params, is_weight, l1, l2, opts)
        return r, [g.reshape(-1) for g in grads]

    def only_penalised(params: Any, is_weight: Any, l1: Any, l2: Any, opts: Any) -> Any:
        r, grads = _impl()(params, is_weight, l1, l2, opts)
        on = penalised(is_weight, len(params), opts)
        return r, [g for g, keep in zip(grads, on, strict=True) if keep]  # autograd's None

    def float64_out(params: Any, is_weight: Any, l1: Any, l2: Any, opts: Any) -> Any:
        return l1_l2_penalty(params, is_weight, l1, l2, opts)

    def in_place(params: Any, is_weight: Any, l1: Any, l2: Any, opts: Any) -> Any:
        r, grads = _impl()(params, is_weight, l1, l2, opts)
        params[0][...] = grads[0]  # the gradient written over the parameter
        return r, grads

    _bad(_verdict(flat, "empty_parameter"), "has shape (0,), expected (4, 0)")
    _bad(_verdict(only_penalised, "weights_only"), "must be a list of 5 arrays")
    _bad(_verdict(float64_out, "small"), "has dtype float64, expected float32")
    _bad(_verdict(in_place, "small"), "modified its input(s) ['params']")


def test_the_oracle_is_torch_autograd_s_in_float64() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    ws = [rng.standard_normal(s) for s in ((4, 3), (3,), (5,))]
    ws[0][0, 0] = 0.0
    flags = np.array([True, False, True])
    for select in ("all", "weights"):
        r, grads = l1_l2_penalty(ws, flags, 0.3, 0.7, PenaltyOptions(select))
        leaves = [torch.from_numpy(w).requires_grad_() for w in ws]
        on = penalised(flags, 3, PenaltyOptions(select))
        tr = sum(
            0.3 * w.abs().sum() + 0.7 * (w * w).sum() for w, k in zip(leaves, on, strict=True) if k
        )
        assert isinstance(tr, torch.Tensor)
        tr.backward()
        np.testing.assert_allclose(r, tr.item(), rtol=1e-14)
        for g, w in zip(grads, leaves, strict=True):
            want = np.zeros(w.shape) if w.grad is None else w.grad.numpy()
            np.testing.assert_allclose(g, want, rtol=1e-14, atol=0)
