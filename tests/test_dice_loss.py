"""dice_loss: the suite catches the classic mistakes of a soft Dice loss.

Each wrong implementation below is one mistake people make; verify must flag it on the case
built for it and pass it on an ordinary case where the mistake makes no difference. Inputs
are the suite's fixed seeds; nothing was tuned to pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from harness.registry import Implementation
from harness.verify import Verdict, verify
from suites.dice_loss import SUITE, DiceOptions, check, finish


def _verdict(fn: Callable[..., Any], case: str) -> Verdict:
    impl = Implementation(SUITE.algorithm, "numpy", "wrong", fn)
    found = SUITE.find_case(case)
    return verify(SUITE, impl, found if hasattr(found, "kind") else found.as_case())


def _bad(v: Verdict, *phrases: str) -> None:
    assert v.status in ("fail", "error"), (v.status, v.detail)
    for phrase in phrases:
        assert phrase in v.detail, v.detail


def _softmax(x: np.ndarray) -> Any:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _activate(x: np.ndarray, opts: DiceOptions) -> Any:
    if opts.activation == "softmax":
        return _softmax(x)
    return 1 / (1 + np.exp(-x)) if opts.activation == "sigmoid" else x


def _sums(p: np.ndarray, target: np.ndarray, opts: DiceOptions, mask_p: bool = True) -> Any:
    """(Σ p·g, Σ p or p², Σ g or g²) per (image, class), in p's dtype."""
    c = p.shape[1]
    if opts.target_format == "one_hot":
        g = target.astype(p.dtype)
    else:
        target = target[:, 0]  # (N, 1, H, W) indices
        valid = target != (-1 if opts.ignore_index is None else opts.ignore_index)
        g = ((target[:, None] == np.arange(c)[None, :, None, None]) & valid[:, None]).astype(
            p.dtype
        )
        if mask_p:
            p = p * valid[:, None]
    power = 2 if opts.squared else 1
    return (p * g).sum(axis=(2, 3)), (p**power).sum(axis=(2, 3)), (g**power).sum(axis=(2, 3))


def _impl(
    activate: Callable[[np.ndarray, DiceOptions], Any] = _activate,
    sums: Callable[..., Any] = _sums,
    tweak: Callable[[DiceOptions], DiceOptions] = lambda o: o,
) -> Callable[..., Any]:
    """An implementation in preds' dtype from an activation, the sums and the options the
    finishing step is told (a tweak there is a convention mix-up)."""

    def impl(preds: Any, target: Any, opts: DiceOptions) -> Any:
        check(preds, target, opts)
        with np.errstate(all="ignore"):
            p = activate(preds, opts)
            inter, psum, gsum = sums(p, target, opts)
            return finish(inter, psum, gsum, tweak(opts)).astype(preds.dtype)

    return impl


def test_the_correct_variant_passes_the_cases_used_below() -> None:
    cases = ("random_f32", "random_f64", "sigmoid_f32", "smooth_1_f32", "squared_f32",
             "absent_class_smoothed", "absent_class_skip", "ignore_255_f32", "tall_images",
             "no_background_f32", "extreme_logits", "class_average_f32")  # fmt: skip
    for case in cases:
        assert _verdict(_impl(), case).status == "pass", case


def test_an_implicit_activation_rule_is_caught() -> None:
    """Sigmoid for one channel, softmax otherwise, whatever the flag says."""

    def implicit(x: np.ndarray, opts: DiceOptions) -> Any:
        return 1 / (1 + np.exp(-x)) if x.shape[1] == 1 else _softmax(x)

    assert _verdict(_impl(implicit), "random_f32").status == "pass"
    _bad(_verdict(_impl(implicit), "sigmoid_f32"), "finite values off")


def test_naive_softmax_overflows_at_extreme_logits() -> None:
    def naive(x: np.ndarray, opts: DiceOptions) -> Any:
        e = np.exp(x)
        return (
            e / e.sum(axis=1, keepdims=True) if opts.activation == "softmax" else _activate(x, opts)
        )

    assert _verdict(_impl(naive), "random_f32").status == "pass"
    _bad(_verdict(_impl(naive), "extreme_logits"), "NaN where the oracle has a number")


def test_the_smoothing_conventions_are_enforced() -> None:
    denominator_only = _impl(tweak=lambda o: replace(o, smooth_where="denominator"))
    fixed_s = _impl(tweak=lambda o: replace(o, smooth=1e-6))
    assert _verdict(denominator_only, "random_f32").status == "pass"  # s = 1e-6: invisible
    _bad(_verdict(denominator_only, "smooth_1_f32"), "finite values off")
    _bad(_verdict(denominator_only, "absent_class_smoothed"), "finite values off")  # 0/s vs s/s
    _bad(_verdict(fixed_s, "smooth_1_f32"), "finite values off")
    _bad(_verdict(fixed_s, "denominator_smoothing_f64"), "finite values off")


def test_squares_averaging_and_background_are_enforced() -> None:
    no_squares = _impl(tweak=lambda o: o)

    def linear_sums(p: np.ndarray, target: np.ndarray, opts: DiceOptions) -> Any:
        return _sums(p, target, replace(opts, squared=False))

    _bad(_verdict(_impl(sums=linear_sums), "squared_f32"), "finite values off")
    assert _verdict(no_squares, "squared_f32").status == "pass"
    batch_dice = _impl(tweak=lambda o: replace(o, average="class"))
    assert _verdict(batch_dice, "class_average_f32").status == "pass"
    _bad(_verdict(batch_dice, "random_f32"), "finite values off")
    _bad(_verdict(_impl(tweak=lambda o: replace(o, average="micro")), "random_f32"), "values off")
    keep_background = _impl(tweak=lambda o: replace(o, include_background=True))
    _bad(_verdict(keep_background, "no_background_f32"), "finite values off")


def test_ignored_pixels_count_nowhere() -> None:
    def as_background(p: np.ndarray, target: np.ndarray, opts: DiceOptions) -> Any:
        t = np.where(target == opts.ignore_index, 0, target) if opts.ignore_index else target
        return _sums(p, t, replace(opts, ignore_index=None))

    def target_only(p: np.ndarray, target: np.ndarray, opts: DiceOptions) -> Any:
        return _sums(p, target, opts, mask_p=False)  # the predictions there still counted

    for wrong in (as_background, target_only):
        assert _verdict(_impl(sums=wrong), "random_f32").status == "pass"
        _bad(_verdict(_impl(sums=wrong), "ignore_255_f32"), "finite values off")
        _bad(_verdict(_impl(sums=wrong), "ignore_255_sigmoid_f64"), "finite values off")


def _told_empty(value: str) -> Callable[[DiceOptions], DiceOptions]:
    return lambda o: replace(o, empty=value)


def test_the_empty_class_convention_is_enforced_each_way() -> None:
    for told, case, phrase in (
        ("smoothed", "absent_class_skip", "NaN where the oracle has a number"),
        ("skip", "absent_class_one", "finite values off"),
        ("one", "absent_class_zero", "finite values off"),
        ("smoothed", "absent_class_one", "NaN where the oracle has a number"),
        ("one", "absent_class_smoothed_s0", "numbers where the oracle has NaN"),
        ("skip", "absent_class_skip_none", ""),  # right: NaN entries kept by 'none'
    ):
        v = _verdict(_impl(tweak=_told_empty(told)), case)
        if phrase:
            _bad(v, phrase)
        else:
            assert v.status == "pass", v.detail


def test_summing_where_the_reference_averages_is_caught() -> None:
    always_sum = _impl(tweak=lambda o: replace(o, reduction="sum") if o.reduction == "mean" else o)
    assert _verdict(always_sum, "reduction_sum_f32").status == "pass"
    _bad(_verdict(always_sum, "random_f32"), "finite values off")


def test_a_pixel_blocked_sum_that_drops_its_last_partial_block_is_caught() -> None:
    def blocked(p: np.ndarray, target: np.ndarray, opts: DiceOptions) -> Any:
        n, c, h, w = p.shape
        whole = (h * w) // 1024 * 1024 or h * w  # the tail block forgotten
        flat_p = p.reshape(n, c, h * w)[..., :whole, None]
        channels = c if opts.target_format == "one_hot" else 1
        flat_t = target.reshape(n, channels, h * w)[..., :whole, None]
        return _sums(flat_p, flat_t, opts)

    assert _verdict(_impl(sums=blocked), "random_f32").status == "pass"  # 42 pixels: one block
    _bad(_verdict(_impl(sums=blocked), "tall_images"), "finite values off")
    _bad(_verdict(_impl(sums=blocked), "tall_images_one_hot_f64"), "finite values off")


def test_bad_indices_and_softmax_on_one_channel_must_raise() -> None:
    def no_checks(preds: Any, target: Any, opts: DiceOptions) -> Any:
        with np.errstate(all="ignore"):
            t = (
                np.clip(target, 0, preds.shape[1] - 1)
                if opts.target_format == "indices"
                else target
            )
            p = _activate(preds, opts)
            inter, psum, gsum = _sums(p, t, opts)
            return finish(inter, psum, gsum, opts).astype(preds.dtype)

    impl = Implementation(SUITE.algorithm, "numpy", "wrong", no_checks)
    for name in ("class_index_too_large", "class_index_negative", "softmax_one_channel"):
        err = next(e for e in SUITE.error_cases if e.name == name)
        _bad(verify(SUITE, impl, err), "must raise ValueError")


def test_precision_empty_shape_and_input_writes_are_caught() -> None:
    def in_float32(x: np.ndarray, opts: DiceOptions) -> Any:
        return _activate(x.astype(np.float32), opts)

    def flat_empty(preds: Any, target: Any, opts: DiceOptions) -> Any:
        if preds.shape[0] == 0 and opts.reduction == "none":
            return np.empty((0,), preds.dtype)
        return _impl()(preds, target, opts)

    def softmax_in_place(x: np.ndarray, opts: DiceOptions) -> Any:
        x -= x.max(axis=1, keepdims=True)
        np.exp(x, out=x)
        x /= x.sum(axis=1, keepdims=True)
        return x

    _bad(_verdict(_impl(in_float32), "random_f64"), "finite values off")
    _bad(_verdict(flat_empty, "no_images"), "has shape (0,), expected (0, 5)")
    _bad(_verdict(_impl(softmax_in_place), "random_f32"), "modified its input(s) ['preds']")
