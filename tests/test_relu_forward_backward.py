"""relu_forward_backward: the suites catch the classic mistakes of ReLU code.

Forward: the NaN convention either way, an integer input turned float, float32 arithmetic,
an input written to, an output that is the input itself, a flattened empty output.
Backward: a mask multiplied instead of selected (NaN or inf upstream), >= for > at 0, the
mask kept where x > 0 (a NaN x loses its gradient), float32 arithmetic, and an in-place
operation on the tensor autograd saved for ReLU's backward (torch's version check).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.verify import Verdict, verify
from suites.relu_forward_backward import (
    BACKWARD_SUITE,
    SUITE,
    ReluBackwardOptions,
    ReluOptions,
    check_backward,
    relu_backward,
    relu_forward_backward,
)

Impl = Callable[..., Any]


def _verdict(fn: Impl, case: str, backward: bool = False, arrays: str = "numpy") -> Verdict:
    suite = BACKWARD_SUITE if backward else SUITE
    backend = "torch_cpu" if arrays == "torch_cpu" else "numpy"
    impl = Implementation(suite.algorithm, backend, "wrong", fn, arrays=arrays,
                          prepare=arrays == "torch_cpu")  # fmt: skip
    return verify(suite, impl, suite.find_case(case))


def _bad(v: Verdict, *phrases: str) -> None:
    assert v.status in ("fail", "error"), (v.status, v.detail)
    for phrase in phrases:
        assert phrase in v.detail, v.detail


def _ok(fn: Impl, *cases: str, backward: bool = False) -> None:
    for case in cases:
        v = _verdict(fn, case, backward)
        assert v.status == "pass", (case, v.detail)


def _forward(rule: Callable[[np.ndarray], np.ndarray], work: Any = None) -> Impl:
    def impl(x: Any, opts: Any) -> Any:
        with np.errstate(invalid="ignore"):
            return rule(x.astype(work or x.dtype)).astype(x.dtype, copy=False)

    return impl


def _backward(rule: Callable[[np.ndarray, np.ndarray, Any], np.ndarray], work: Any = None) -> Impl:
    def impl(x: Any, g: Any, opts: Any) -> Any:
        check_backward(x, g)
        with np.errstate(invalid="ignore"):
            out = rule(x.astype(work or x.dtype), g.astype(work or g.dtype), opts)
        return out.astype(g.dtype, copy=False)

    return impl


def _right_forward(x: Any, opts: Any) -> Any:
    zero = np.zeros((), x.dtype)
    return np.maximum(x, zero) if opts.nan == "propagate" else np.fmax(x, zero)


def test_the_correct_variants_pass_the_cases_used_below() -> None:
    _ok(_right_forward, "random_2d", "special", "special_zero_nan", "int32", "tiny_f64",
        "empty_batch", "empty_trailing")  # fmt: skip
    _ok(relu_backward, "special", "nan_inf_upstream", "zeros", "grad_at_zero_one_f64",
        "tiny_f64", backward=True)  # fmt: skip


def test_the_nan_convention_is_enforced_both_ways() -> None:
    where = _forward(lambda x: np.where(x > 0, x, np.zeros((), x.dtype)))  # NaN -> 0
    maximum = _forward(lambda x: np.maximum(x, np.zeros((), x.dtype)))  # NaN stays
    _ok(where, "random_2d", "special_zero_nan")
    _bad(_verdict(where, "special"), "numbers where the oracle has NaN")
    _ok(maximum, "special")
    _bad(_verdict(maximum, "special_zero_nan"), "NaN where the oracle has a number")


def test_integer_inputs_keep_their_dtype() -> None:
    as_float = _forward(lambda x: np.maximum(x, 0.0))
    _bad(_verdict(lambda x, o: as_float(x, o).astype(np.float64), "int32"),
         "has dtype float64, expected int32")  # fmt: skip


def test_float32_arithmetic_on_float64_inputs_is_caught() -> None:
    f32 = _forward(lambda x: np.maximum(x, np.float32(0)), work=np.float32)
    _bad(_verdict(f32, "tiny_f64"), "finite values off")
    _bad(_verdict(f32, "random_4d_f64"), "finite values off")
    f32b = _backward(lambda x, g, o: np.where(x <= 0, 0, g), work=np.float32)
    _bad(_verdict(f32b, "tiny_f64", backward=True), "finite values off")


def test_writes_aliases_and_flattened_empties_are_caught() -> None:
    def in_place(x: Any, opts: Any) -> Any:
        np.maximum(x, 0, out=x)
        return x.copy()

    def same_array_when_nothing_is_negative(x: Any, opts: Any) -> Any:
        return x if not (x < 0).any() else _right_forward(x, opts)

    def flat(x: Any, opts: Any) -> Any:
        return _right_forward(x, opts).reshape(-1)

    _bad(_verdict(in_place, "random_2d"), "modified its input(s) ['x']")
    _ok(same_array_when_nothing_is_negative, "random_2d")
    _bad(_verdict(same_array_when_nothing_is_negative, "all_positive"), "must be a new array")
    _bad(_verdict(flat, "empty_trailing"), "has shape (0,), expected (6, 0, 3)")


def test_the_backward_mask_must_select_not_multiply() -> None:
    """g·(x > 0) is NaN where g is NaN or inf and x <= 0; torch selects."""
    product = _backward(lambda x, g, o: g * (x > 0))
    _ok(product, "random_2d", backward=True)
    _bad(_verdict(product, "nan_inf_upstream", backward=True), "NaN where the oracle has")


def test_the_gradient_at_zero_is_enforced() -> None:
    ge = _backward(lambda x, g, o: np.where(x < 0, 0, g))  # 1 at x = 0 always
    _ok(ge, "random_2d", "grad_at_zero_one_f64", backward=True)
    _bad(_verdict(ge, "zeros", backward=True), "finite values off")


def test_a_nan_input_passes_its_gradient_as_torch_does() -> None:
    """where(x > 0, g, 0) drops the gradient of a NaN x; torch's where(x <= 0, 0, g) keeps it."""
    keep_positive = _backward(lambda x, g, o: np.where(x > 0, g, 0))
    _ok(keep_positive, "random_2d", "zeros", backward=True)
    _bad(_verdict(keep_positive, "special", backward=True), "finite values off")


def test_an_in_place_op_on_the_saved_output_is_refused_by_autograd() -> None:
    """ReLU saves its output for the backward; writing into it in place (y += b) makes
    torch's version check raise at the backward, which the suite reports."""
    torch = pytest.importorskip("torch")
    f = torch.nn.functional

    def saved_output_written(x: Any, g: Any, opts: Any) -> Callable[[], Any]:
        leaf = x.detach().clone().requires_grad_(True)
        y = f.relu(leaf * 1.0, inplace=True)
        y.mul_(1.0)  # an in-place op on the tensor the ReLU's backward needs
        return lambda: torch.autograd.grad(y, leaf, g, retain_graph=True)[0]

    _bad(_verdict(saved_output_written, "random_2d", True, "torch_cpu"),
         "modified by an inplace operation")  # fmt: skip
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20, 5))
    x[0, :3] = [0.0, np.nan, -0.0]
    g = rng.standard_normal((20, 5))
    g[1, 0] = np.nan
    leaf = torch.from_numpy(x).requires_grad_(True)
    (want,) = torch.autograd.grad(f.relu(leaf), leaf, torch.from_numpy(g))
    np.testing.assert_array_equal(relu_backward(x, g, ReluBackwardOptions()), want.numpy())
    np.testing.assert_array_equal(relu_forward_backward(x, ReluOptions()), f.relu(leaf).detach())


def test_a_chunked_kernel_wrong_past_its_first_chunk_is_caught() -> None:
    """A kernel over 64K-element chunks whose later chunks are copied unrectified (forward)
    or pass g unmasked (backward): the small cases fit in one chunk and pass; multi_block
    (420,000 elements) is what catches it."""
    chunk = 1 << 16

    def forward(x: Any, opts: Any) -> Any:
        flat = np.ascontiguousarray(x).reshape(-1)
        out = flat.copy()
        np.maximum(flat[:chunk], np.zeros((), x.dtype), out=out[:chunk])
        return out.reshape(x.shape)

    def backward(x: Any, g: Any, opts: Any) -> Any:
        check_backward(x, g)
        fx, fg = np.ascontiguousarray(x).reshape(-1), np.ascontiguousarray(g).reshape(-1)
        out = fg.copy()
        out[:chunk] = np.where(fx[:chunk] <= 0, np.zeros((), g.dtype), fg[:chunk])
        return out.reshape(g.shape)

    _ok(forward, "random_2d", "random_4d_f64", "flat")
    _bad(_verdict(forward, "multi_block"), "elements differ")
    _ok(backward, "random_2d", "random_4d_f64", "flat", backward=True)
    _bad(_verdict(backward, "multi_block", backward=True), "elements differ")
