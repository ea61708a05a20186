"""focal_loss: the suite catches the classic mistakes of a sigmoid focal loss.

Each wrong implementation below is one mistake people make; verify must flag it on the case
built for it, and (where it says so) pass it on an ordinary case, so the named case is what
catches it. Inputs are the suite's fixed seeds; nothing was tuned to pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from harness.registry import Implementation, load_registry
from harness.verify import Verdict, verify
from suites.focal_loss import SUITE, FocalOptions, check

Elementwise = Callable[[np.ndarray, np.ndarray, float, float, FocalOptions], np.ndarray]


def _verdict(fn: Callable[..., Any], case: str) -> Verdict:
    impl = Implementation(SUITE.algorithm, "numpy", "wrong", fn)
    found = SUITE.find_case(case)
    return verify(SUITE, impl, found if hasattr(found, "kind") else found.as_case())


def _bad(v: Verdict, *phrases: str) -> None:
    assert v.status in ("fail", "error"), (v.status, v.detail)
    for phrase in phrases:
        assert phrase in v.detail, v.detail


def _ce_logits(z: np.ndarray, y: np.ndarray) -> Any:
    return np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))


def _sigmoid(z: np.ndarray) -> Any:
    return np.where(
        z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z)))
    )


def _right_elements(z: np.ndarray, y: np.ndarray, a: float, g: float, o: FocalOptions) -> Any:
    if o.input == "logits":
        p, ce = _sigmoid(z), _ce_logits(z, y)
    else:
        p = z
        ce = -(
            y * np.log(np.maximum(p, o.clip_eps)) + (1 - y) * np.log(np.maximum(1 - p, o.clip_eps))
        )
    loss = ce * (p + y - 2 * p * y) ** g
    return loss * (a * y + (1 - a) * (1 - y)) if a >= 0 else loss


def _reduce(loss: np.ndarray, y: np.ndarray, o: FocalOptions) -> Any:
    if o.reduction == "none":
        return loss
    total = loss.sum()
    n = loss.shape[0]
    return {
        "sum": total,
        "mean": total / loss.size if loss.size else np.nan,
        "per_sample_mean": total / n if n else np.nan,
        "per_positive": total / max(1, int((y > 0).any(axis=1).sum())),
    }[o.reduction]


def _impl(elements: Elementwise = _right_elements, reduce: Callable[..., Any] = _reduce) -> Any:
    """An implementation in the inputs' dtype from an elementwise rule and a reduction."""

    def impl(inputs: Any, targets: Any, alpha: float, gamma: float, opts: FocalOptions) -> Any:
        check(inputs, targets, alpha, gamma, opts)
        with np.errstate(all="ignore"):
            loss = elements(inputs, targets, alpha, gamma, opts)
            return np.asarray(reduce(loss, targets, opts), dtype=inputs.dtype)

    return impl


REGISTRY = load_registry()
NUMPY = REGISTRY.implementations["focal_loss/numpy/chunked"]
CASES_USED = ("random_f32", "random_f64", "mean_f32", "logits_1e4", "probabilities_0_and_1",
              "per_positive_f32", "no_positives_per_positive", "alpha_off", "many_rows_sum",
              "gamma_0_logits_1e4", "probabilities_clip_1e-3_f64")  # fmt: skip


def test_the_correct_variant_and_the_project_implementation_pass_the_cases_used_below() -> None:
    for case in CASES_USED:
        assert _verdict(_impl(), case).status == "pass", case
        assert verify(SUITE, NUMPY, SUITE.find_case(case)).status == "pass", case


def test_clipping_probabilities_where_the_reference_uses_logits_is_caught() -> None:
    """ce = -log(clip(p_t, 1e-7, 1)): right for moderate logits, capped at 16.1 beyond."""

    def clipped(z: np.ndarray, y: np.ndarray, a: float, g: float, o: FocalOptions) -> Any:
        p = _sigmoid(z)
        p_t = p * y + (1 - p) * (1 - y)
        return -np.log(np.clip(p_t, 1e-7, 1.0)) * (1 - p_t) ** g * (a * y + (1 - a) * (1 - y))

    assert _verdict(_impl(clipped), "random_f32").status == "pass"
    _bad(_verdict(_impl(clipped), "logits_1e4"), "finite values off")
    _bad(_verdict(_impl(clipped), "logits_100"), "finite values off")


def test_log_of_sigmoid_overflows_at_saturated_logits() -> None:
    def log_sigmoid(z: np.ndarray, y: np.ndarray, a: float, g: float, o: FocalOptions) -> Any:
        p = 1 / (1 + np.exp(-z))
        ce = -(y * np.log(p) + (1 - y) * np.log(1 - p))
        return ce * (p + y - 2 * p * y) ** g * (a * y + (1 - a) * (1 - y))

    assert _verdict(_impl(log_sigmoid), "random_f32").status == "pass"
    _bad(_verdict(_impl(log_sigmoid), "logits_1e4"), "NaN where the oracle has a number")


def test_summing_where_the_reference_averages_is_caught() -> None:
    def always_sum(loss: np.ndarray, y: np.ndarray, o: FocalOptions) -> Any:
        return loss if o.reduction == "none" else loss.sum()

    def mean_per_sample(loss: np.ndarray, y: np.ndarray, o: FocalOptions) -> Any:
        return (
            _reduce(loss, y, FocalOptions(reduction="per_sample_mean"))
            if o.reduction == "mean"
            else _reduce(loss, y, o)
        )

    assert _verdict(_impl(reduce=always_sum), "sum_f64").status == "pass"
    _bad(_verdict(_impl(reduce=always_sum), "mean_f32"), "finite values off")
    _bad(_verdict(_impl(reduce=always_sum), "per_sample_mean_f32"), "finite values off")
    _bad(_verdict(_impl(reduce=mean_per_sample), "mean_f32"), "finite values off")


def test_the_retinanet_normaliser_counts_positive_rows_and_never_divides_by_zero() -> None:
    def positive_elements(loss: np.ndarray, y: np.ndarray, o: FocalOptions) -> Any:
        if o.reduction != "per_positive":
            return _reduce(loss, y, o)
        return loss.sum() / max(1, int((y > 0).sum()))

    def no_floor(loss: np.ndarray, y: np.ndarray, o: FocalOptions) -> Any:
        if o.reduction != "per_positive":
            return _reduce(loss, y, o)
        return loss.sum() / (y > 0).any(axis=1).sum()

    _bad(_verdict(_impl(reduce=positive_elements), "per_positive_f32"), "finite values off")
    assert _verdict(_impl(reduce=no_floor), "per_positive_f32").status == "pass"
    _bad(_verdict(_impl(reduce=no_floor), "no_positives_per_positive"), "infinite values")


def test_alpha_minus_one_switches_alpha_off() -> None:
    def alpha_always(z: np.ndarray, y: np.ndarray, a: float, g: float, o: FocalOptions) -> Any:
        p = _sigmoid(z)
        return _ce_logits(z, y) * (p + y - 2 * p * y) ** g * (a * y + (1 - a) * (1 - y))

    def flat_alpha(z: np.ndarray, y: np.ndarray, a: float, g: float, o: FocalOptions) -> Any:
        return _right_elements(z, y, -1.0, g, o) * abs(a)  # α on every element, not α_t

    assert _verdict(_impl(alpha_always), "random_f32").status == "pass"
    _bad(_verdict(_impl(alpha_always), "alpha_off"), "finite values off")
    _bad(_verdict(_impl(flat_alpha), "random_f32"), "finite values off")


def test_the_modulating_factor_is_one_minus_p_t_and_zero_to_the_zero_is_one() -> None:
    def p_t_factor(z: np.ndarray, y: np.ndarray, a: float, g: float, o: FocalOptions) -> Any:
        p = _sigmoid(z)
        return _right_elements(z, y, a, 0.0, o) * (p * y + (1 - p) * (1 - y)) ** g

    def exp_log_power(z: np.ndarray, y: np.ndarray, a: float, g: float, o: FocalOptions) -> Any:
        p = _sigmoid(z)
        q = p + y - 2 * p * y
        return _right_elements(z, y, a, 0.0, o) * np.exp(g * np.log(q))

    _bad(_verdict(_impl(p_t_factor), "random_f32"), "finite values off")
    assert _verdict(_impl(exp_log_power), "logits_1e4").status == "pass"  # γ = 2: exp(-inf) = 0
    _bad(_verdict(_impl(exp_log_power), "gamma_0_logits_1e4"), "NaN where the oracle has a number")


def test_probability_mode_clips_each_log_at_the_option_eps() -> None:
    def unclipped(z: np.ndarray, y: np.ndarray, a: float, g: float, o: FocalOptions) -> Any:
        return _right_elements(z, y, a, g, FocalOptions(input="probabilities", clip_eps=1e-300))

    def fixed_eps(z: np.ndarray, y: np.ndarray, a: float, g: float, o: FocalOptions) -> Any:
        return _right_elements(z, y, a, g, FocalOptions(input="probabilities"))

    def clamp_p(z: np.ndarray, y: np.ndarray, a: float, g: float, o: FocalOptions) -> Any:
        """clamp(p, eps, 1 - eps) in float32: 1 - 1e-7 rounds to 1 - 1.19e-7."""
        eps = o.clip_eps
        pc = np.clip(z, z.dtype.type(eps), z.dtype.type(1 - eps))
        ce = -(y * np.log(pc) + (1 - y) * np.log(1 - pc))
        return ce * (z + y - 2 * z * y) ** g * (a * y + (1 - a) * (1 - y))

    assert _verdict(_impl(unclipped), "probabilities_f32").status == "pass"
    _bad(_verdict(_impl(unclipped), "probabilities_0_and_1"), "NaN where the oracle has a number")
    assert _verdict(_impl(fixed_eps), "probabilities_f64").status == "pass"
    _bad(_verdict(_impl(fixed_eps), "probabilities_clip_1e-3_f64"), "finite values off")
    assert _verdict(_impl(clamp_p), "probabilities_f32").status == "pass"
    _bad(_verdict(_impl(clamp_p), "probabilities_0_and_1"), "finite values off")


def test_probabilities_outside_the_unit_interval_must_raise() -> None:
    def no_range_check(
        inputs: Any, targets: Any, alpha: float, gamma: float, opts: FocalOptions
    ) -> Any:
        with np.errstate(all="ignore"):
            return np.asarray(
                _reduce(_right_elements(inputs, targets, alpha, gamma, opts), targets, opts),
                dtype=inputs.dtype,
            )

    err = next(e for e in SUITE.error_cases if e.name == "probability_above_one")
    impl = Implementation(SUITE.algorithm, "numpy", "wrong", no_range_check)
    _bad(verify(SUITE, impl, err), "must raise ValueError")


def test_a_blocked_sum_that_drops_its_last_partial_block_is_caught() -> None:
    def blocked(loss: np.ndarray, y: np.ndarray, o: FocalOptions) -> Any:
        if o.reduction != "sum":
            return _reduce(loss, y, o)
        rows = 256
        whole = loss.shape[0] // rows * rows or loss.shape[0]  # the tail block forgotten
        return loss[:whole].sum()

    assert _verdict(_impl(reduce=blocked), "sum_f64").status == "pass"  # one block only
    _bad(_verdict(_impl(reduce=blocked), "many_rows_sum"), "finite values off")


def test_precision_empty_shape_aliasing_and_input_writes_are_caught() -> None:
    def in_float32(z: np.ndarray, y: np.ndarray, a: float, g: float, o: FocalOptions) -> Any:
        return _right_elements(z.astype(np.float32), y.astype(np.float32), a, g, o)

    def flat_empty(
        inputs: Any, targets: Any, alpha: float, gamma: float, opts: FocalOptions
    ) -> Any:
        if inputs.size == 0 and opts.reduction == "none":
            return np.empty((0,), inputs.dtype)
        return _impl()(inputs, targets, alpha, gamma, opts)

    def in_place(inputs: Any, targets: Any, alpha: float, gamma: float, opts: FocalOptions) -> Any:
        out = _impl()(inputs, targets, alpha, gamma, opts)
        inputs[...] = 0  # scratch reuse of the caller's logits
        return out

    def scratch_in_targets(
        inputs: Any, targets: Any, alpha: float, gamma: float, opts: FocalOptions
    ) -> Any:
        out = _impl()(inputs, targets, alpha, gamma, opts)
        return targets.reshape(out.shape) if out.shape == targets.shape else out  # a view back

    _bad(_verdict(_impl(in_float32), "random_f64"), "finite values off")
    _bad(_verdict(_impl(in_float32), "sum_f64"), "finite values off")
    _bad(_verdict(flat_empty, "no_rows"), "has shape (0,), expected (0, 5)")
    _bad(_verdict(flat_empty, "no_classes"), "has shape (0,), expected (4, 0)")
    _bad(_verdict(in_place, "random_f32"), "modified its input(s) ['inputs'] in place")
    _bad(_verdict(scratch_in_targets, "random_f32"), "shares memory with input 'targets'")


def _softmax_elements(shift: bool = True, balanced: bool = False) -> Elementwise:
    """The softmax form's terms -α·y·(1 - p)^γ·log p, with or without the max shift, α a
    factor or (the mistake) the sigmoid form's class-balancing α·y + (1 - α)(1 - y)."""

    def elements(z: np.ndarray, y: np.ndarray, a: float, g: float, o: FocalOptions) -> Any:
        x = z - z.max(axis=1, keepdims=True) if shift else z
        log_p = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
        loss = -y * (1 - np.exp(log_p)) ** g * log_p
        if a < 0:
            return loss
        return loss * (a * y + (1 - a) * (1 - y)) if balanced else loss * a

    return elements


def test_the_softmax_form_is_its_own_function() -> None:
    """The per-class sigmoid loss where the multi-class softmax one is asked is caught, and
    so is the sigmoid form's α_t carried over; the right softmax terms pass."""
    for case in ("softmax_f32", "softmax_f64", "softmax_alpha_off", "softmax_gamma_0_f64"):
        assert _verdict(_impl(_softmax_elements()), case).status == "pass", case
    _bad(_verdict(_impl(), "softmax_f32"), "elements differ")
    balanced = _impl(_softmax_elements(balanced=True))
    assert _verdict(balanced, "softmax_alpha_off").status == "pass"  # α off: the same
    _bad(_verdict(balanced, "softmax_soft_targets_sum_f64"), "finite values off")


def test_a_softmax_without_the_max_shift_overflows_at_extreme_logits() -> None:
    naive = _impl(_softmax_elements(shift=False))
    assert _verdict(naive, "softmax_f32").status == "pass"
    _bad(_verdict(naive, "softmax_logits_1e4"), "NaN where the oracle has a number")
