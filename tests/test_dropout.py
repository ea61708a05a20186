"""Pitfalls of dropout: each deliberately wrong variant is flagged by verify, with a diagnosis.

The wrong variants are NumPy functions registered as harness Implementation records; each
is run on the suite's own cases (fixed seeds) through harness.verify.verify. Statistical
checks (the keep-rate test of own-generator implementations) use fixed seeds only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.backends import seed_all
from harness.registry import Implementation, load_registry
from harness.spec import Case
from harness.verify import case_inputs, oracle_output, verify
from suites.dropout import (
    ARGS,
    CHANNEL,
    CHANNEL_ARGS,
    SUITE,
    DropoutOptions,
    channel_mask,
    dropout_scale,
)

Fn = Callable[..., Any]
REGISTRY = load_registry()


def _impl(fn: Fn, *, own_rng: bool = False) -> Implementation:
    return Implementation("dropout", "numpy", fn.__name__, fn, own_rng=own_rng)


def _case(name: str) -> Case:
    found = SUITE.find_case(name)
    return found if isinstance(found, Case) else found.as_case()


def _verdict(fn: Fn, case: str, *, own_rng: bool = False) -> Any:
    return verify(SUITE, _impl(fn, own_rng=own_rng), SUITE.find_case(case))


# ---- a correct reference, and the classic mistakes -----------------------------------------


def correct(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    dtype = ARGS.check(x, mask, p)
    s = dropout_scale(float(p), opts)
    if not opts.training:
        return (x * s).astype(dtype)
    with np.errstate(invalid="ignore"):
        if opts.nan_dropped == "product":
            return (x * mask * s).astype(dtype)
        return np.where(mask, x * s, 0).astype(dtype)


def scales_by_p(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    return (x * mask * x.dtype.type(p)).astype(x.dtype)


def mask_inverted(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    return correct(x, ~mask, p, opts)


def nan_at_p_one(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    with np.errstate(divide="ignore", invalid="ignore"):
        return (x * mask * (x.dtype.type(1) / x.dtype.type(1 - p))).astype(x.dtype)


def eval_still_drops(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    return correct(x, mask, p, DropoutOptions(scaling=opts.scaling, nan_dropped=opts.nan_dropped))


def always_select(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    return correct(x, mask, p, DropoutOptions(opts.training, opts.scaling, "select"))


def always_product(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    return correct(x, mask, p, DropoutOptions(opts.training, opts.scaling, "product"))


def always_inverted(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    return correct(x, mask, p, DropoutOptions(opts.training, "inverted", opts.nan_dropped))


def one_minus_p_in_float32(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    one, p32 = np.float32(1), np.float32(p)
    return (x * mask * (one / (one - p32))).astype(x.dtype)


def float32_arithmetic(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    return correct(x.astype(np.float32), mask, p, opts).astype(x.dtype)


def returns_x_in_eval(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    return x if not opts.training else correct(x, mask, p, opts)


def flat_when_empty(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    return correct(x, mask, p, opts).reshape(-1) if x.size == 0 else correct(x, mask, p, opts)


def blocked_wrong_past_first(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    """Rows in blocks of 256; every block after the first forgets the scale."""
    out = correct(x, mask, p, opts)
    out[256:] = (x[256:] * mask[256:]).astype(x.dtype)
    return out


def writes_into_x(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    x *= mask
    return correct(x, mask, p, opts)


def unchecked(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    return np.asarray(x, dtype=np.float64) * mask / max(1 - p, 1e-12)


PITFALLS = [
    # (wrong variant, case, words the diagnosis must contain)
    (scales_by_p, "random_f32", "elements differ"),
    (mask_inverted, "random_f32", "elements differ"),
    (nan_at_p_one, "p_one", "NaN where the oracle has a number"),
    (eval_still_drops, "eval_f32", "elements differ"),
    (always_select, "nonfinite_product", "numbers where the oracle has NaN"),
    (always_product, "nonfinite_select_f64", "NaN where the oracle has a number"),
    (always_inverted, "paper_f64", "elements differ"),
    (always_inverted, "eval_paper_f64", "elements differ"),
    (one_minus_p_in_float32, "p_near_one", "finite values off"),
    (float32_arithmetic, "random_f64", "finite values off"),
    (returns_x_in_eval, "eval_f32", "shares memory with input 'x'"),
    (flat_when_empty, "empty_d", "has shape (0,), expected (5, 0)"),
    (blocked_wrong_past_first, "multi_block", "elements differ; first at (256,"),
    (writes_into_x, "random_f32", "modified its input(s) ['x']"),
    (unchecked, "p_just_above_one", "must raise ValueError"),
    (unchecked, "integer_x", "must raise TypeError"),
    (unchecked, "p:nan", "must raise ValueError"),
]


@pytest.mark.parametrize(("fn", "case", "words"), PITFALLS, ids=lambda v: getattr(v, "__name__", v))
def test_the_suite_flags_each_pitfall(fn: Fn, case: str, words: str) -> None:
    v = _verdict(fn, case)
    assert v.status == "fail", (v.status, v.detail)
    assert words in v.detail


@pytest.mark.parametrize("case", [c.name for c in SUITE.cases] + ["p_just_above_one", "p:nan"])
def test_the_correct_reference_passes(case: str) -> None:
    assert _verdict(correct, case).status == "pass"


def test_the_tiled_mistake_hides_in_the_first_block() -> None:
    """Wrong only past row 256: the small cases cannot see it, multi_block does."""
    assert _verdict(blocked_wrong_past_first, "random_f32").status == "pass"


def test_an_unsafe_p_is_harmless_in_the_suite_itself() -> None:
    """The oracle's own p = 1 rule: zeros, no NaN, and the scale is 0 there."""
    assert dropout_scale(1.0, DropoutOptions()) == 0.0
    out = oracle_output(SUITE, _case("p_one"))
    assert not np.isnan(out).any() and not out.any()


# ---- own generator: the keep-rate test -----------------------------------------------------


def fake_keeps_with_p(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    """Own generator with the classic slip: keeps with probability p instead of 1 - p."""
    keep = np.random.random(x.shape) < p
    return correct(x, keep, p, opts)


def fake_right_rate_no_scale(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    keep = np.random.random(x.shape) >= p
    return (x * keep).astype(x.dtype)


def fake_right(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    return correct(x, np.random.random(x.shape) >= p, p, opts)


def fake_drops_in_eval(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    return fake_right(x, mask, p, DropoutOptions())


@pytest.mark.parametrize(
    ("fn", "case", "words"),
    [
        (fake_keeps_with_p, "random_f32", "keep rate differs from 1 - p"),
        (fake_right_rate_no_scale, "random_f32", "neither 0 nor x/(1-p)"),
        (fake_drops_in_eval, "eval_f32", "eval mode must not drop"),
    ],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_keep_rate_flags_own_generator_mistakes(fn: Fn, case: str, words: str) -> None:
    v = _verdict(fn, case, own_rng=True)
    assert v.status == "fail", (v.status, v.detail)
    assert words in v.detail


@pytest.mark.parametrize("case", ["random_f32", "p_near_one", "nonfinite_product", "p_one"])
def test_a_correct_own_generator_passes_keep_rate(case: str) -> None:
    assert _verdict(fake_right, case, own_rng=True).status == "pass"


def test_keep_rate_false_alarms_and_power_over_200_seeds() -> None:
    """F.dropout itself (the library reference, torch's generator) on random_f32's inputs
    (6400 values, p = 0.3) under seeds 0..199, every seed of a fixed range, none chosen
    after looking: at alpha = 1e-3 the number of failures is Binomial(200, 1e-3), and
    P(more than 3) = 5.5e-5. The fake that keeps with probability p (0.3 where 0.7 is
    right) must fail every seed: its keep count is ~70 standard deviations off."""
    torch = pytest.importorskip("torch")
    library = REGISTRY.implementations["dropout/library/torch"]
    case = _case("random_f32")
    inputs = case_inputs(SUITE, case)
    expected = oracle_output(SUITE, case)
    compare = SUITE.own_rng_compare
    assert compare is not None
    tol = compare.tolerance(case)
    opts = DropoutOptions()
    x, mask, p = (inputs[k] for k in ("x", "mask", "p"))
    tx, tmask = torch.from_numpy(x.copy()), torch.from_numpy(mask.copy())
    assert library.fn is not None
    false_alarms = wrong_passes = 0
    for seed in range(200):
        seed_all(seed)
        y = library.fn(tx, tmask, p, opts).numpy()
        false_alarms += not compare(y, expected, inputs, case, tol).passed
        seed_all(seed)
        bad = fake_keeps_with_p(x, mask, p, opts)
        wrong_passes += compare(bad, expected, inputs, case, tol).passed
    assert false_alarms <= 3
    assert wrong_passes == 0


# ---- dropout.channel: one draw per (sample, channel) ---------------------------------------


def _channel_impl(fn: Fn, *, own_rng: bool = False) -> Implementation:
    return Implementation("dropout.channel", "numpy", fn.__name__, fn, own_rng=own_rng)


def _channel_verdict(fn: Fn, case: str, *, own_rng: bool = False) -> Any:
    return verify(CHANNEL, _channel_impl(fn, own_rng=own_rng), CHANNEL.find_case(case))


def channel_correct(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    CHANNEL_ARGS.check(x, mask, p)
    return correct_broadcast(x, channel_mask(mask, x.ndim), p, opts)


def correct_broadcast(x: Any, keep: Any, p: Any, opts: DropoutOptions) -> Any:
    """``correct`` with a keep array that broadcasts against x."""
    s = dropout_scale(float(p), opts)
    if not opts.training:
        return (x * s).astype(x.dtype)
    with np.errstate(invalid="ignore"):
        if opts.nan_dropped == "product":
            return (x * keep * s).astype(x.dtype)
        return np.where(keep, x * s, 0).astype(x.dtype)


def mask_tiled_per_value(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    """The (N, C) mask's values repeated over x's values (np.resize): one mask value per
    element, not one per channel."""
    return correct_broadcast(x, np.resize(mask, x.shape), p, opts)


def mask_over_wrong_axis(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    """The flat mask read channel-major, as (C, N): mask[n, c] lands on another channel."""
    n, c = mask.shape
    wrong = mask.reshape(-1).reshape(c, n).T
    return correct_broadcast(x, channel_mask(wrong, x.ndim), p, opts)


def mask_per_sample(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    """Broadcast over the channels: every channel of sample n takes mask[n, 0]."""
    return correct_broadcast(x, channel_mask(mask[:, :1], x.ndim), p, opts)


def channel_scaled_twice(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    s = x.dtype.type(dropout_scale(float(p), opts))
    return (channel_correct(x, mask, p, opts) * s).astype(x.dtype)


def channel_scale_missing(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    return channel_correct(x, mask, p, DropoutOptions(opts.training, "paper", opts.nan_dropped))


def channel_eval_drops(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    return channel_correct(
        x, mask, p, DropoutOptions(scaling=opts.scaling, nan_dropped=opts.nan_dropped)
    )


def channel_nan_at_p_one(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    keep = channel_mask(mask, x.ndim)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (x * keep * (x.dtype.type(1) / x.dtype.type(1 - p))).astype(x.dtype)


def channel_always_select(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    return channel_correct(x, mask, p, DropoutOptions(opts.training, opts.scaling, "select"))


def channel_always_product(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    return channel_correct(x, mask, p, DropoutOptions(opts.training, opts.scaling, "product"))


def channel_one_minus_p_in_float32(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    one, p32 = np.float32(1), np.float32(p)
    return (x * channel_mask(mask, x.ndim) * (one / (one - p32))).astype(x.dtype)


def channel_unchecked(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    """No argument checks; an elementwise mask of x's shape is silently accepted."""
    keep = mask if mask.shape == x.shape else channel_mask(mask, x.ndim)
    return np.asarray(x, dtype=np.float64) * keep / max(1 - p, 1e-12)


CHANNEL_PITFALLS = [
    (mask_tiled_per_value, "channel_f32", "elements differ"),
    (mask_tiled_per_value, "channel_1d_f64", "elements differ"),
    (mask_over_wrong_axis, "channel_f32", "elements differ"),
    (mask_per_sample, "channel_f32", "elements differ"),
    (channel_scaled_twice, "channel_f32", "elements differ"),
    (channel_scale_missing, "channel_f32", "elements differ"),
    (channel_eval_drops, "channel_eval_f32", "elements differ"),
    (channel_nan_at_p_one, "channel_p_one", "NaN where the oracle has a number"),
    (channel_always_select, "channel_nonfinite_product", "numbers where the oracle has NaN"),
    (channel_always_product, "channel_nonfinite_select_f64", "NaN where the oracle has a number"),
    (channel_one_minus_p_in_float32, "channel_p_near_one", "finite values off"),
    (channel_unchecked, "channel_mask_per_value", "must raise ValueError"),
    (channel_unchecked, "channel_p_just_above_one", "must raise ValueError"),
    (channel_unchecked, "channel_integer_x", "must raise TypeError"),
]


@pytest.mark.parametrize(
    ("fn", "case", "words"), CHANNEL_PITFALLS, ids=lambda v: getattr(v, "__name__", v)
)
def test_the_channel_suite_flags_each_pitfall(fn: Fn, case: str, words: str) -> None:
    v = _channel_verdict(fn, case)
    assert v.status == "fail", (v.status, v.detail)
    assert words in v.detail


@pytest.mark.parametrize("case", [c.name for c in CHANNEL.cases] + ["channel_mask_per_value"])
def test_the_correct_channel_reference_passes(case: str) -> None:
    assert _channel_verdict(channel_correct, case).status == "pass"


def test_a_per_value_mask_is_invisible_with_one_value_per_channel() -> None:
    """At 1x1 spatial, a channel is one value: the tiled mask is the right mask there, so
    only cases with several values per channel can tell them apart."""
    assert _channel_verdict(mask_tiled_per_value, "channel_spatial_1x1").status == "pass"


def fake_channel_right(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    keep = np.random.random(x.shape[:2]) >= p
    return correct_broadcast(x, channel_mask(keep, x.ndim), p, opts)


def fake_channel_per_value(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    """F.dropout where F.dropout2d was meant: the right rate, one draw per value."""
    return correct_broadcast(x, np.random.random(x.shape) >= p, p, opts)


def fake_channel_keeps_with_p(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    keep = np.random.random(x.shape[:2]) < p
    return correct_broadcast(x, channel_mask(keep, x.ndim), p, opts)


def fake_channel_no_scale(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    keep = np.random.random(x.shape[:2]) >= p
    return (x * channel_mask(keep, x.ndim)).astype(x.dtype)


def fake_channel_drops_in_eval(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    return fake_channel_right(x, mask, p, DropoutOptions())


@pytest.mark.parametrize(
    ("fn", "case", "words"),
    [
        (fake_channel_per_value, "channel_f32", "channels are partly kept"),
        (fake_channel_keeps_with_p, "channel_f32", "keep rate differs from 1 - p"),
        (fake_channel_no_scale, "channel_f32", "neither 0 nor x/(1-p)"),
        (fake_channel_drops_in_eval, "channel_eval_f32", "eval mode must not drop"),
    ],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_channel_keep_rate_flags_own_generator_mistakes(fn: Fn, case: str, words: str) -> None:
    v = _channel_verdict(fn, case, own_rng=True)
    assert v.status == "fail", (v.status, v.detail)
    assert words in v.detail


@pytest.mark.parametrize(
    "case",
    [
        "channel_f32",
        "channel_1d_f64",
        "channel_p_near_one",
        "channel_nonfinite_product",
        "channel_p_one",
        "channel_zeros",
    ],
)
def test_a_correct_own_generator_passes_the_channel_keep_rate(case: str) -> None:
    assert _channel_verdict(fake_channel_right, case, own_rng=True).status == "pass"


def test_channel_keep_rate_false_alarms_and_power_over_200_seeds() -> None:
    """F.dropout2d itself (torch's generator) on channel_f32's inputs (128 channels of 99
    values, p = 0.3) under seeds 0..199, a fixed range chosen before looking: failures are
    Binomial(200, 1e-3) at alpha = 1e-3, and P(more than 3) = 5.5e-5. The fake that keeps a
    channel with probability p (0.3 where 0.7 is right: 38 kept where 90 are expected, the
    standard deviation ~5) must fail every seed: the binomial p-value is below 1e-15, and
    the elementwise F.dropout every seed too (a channel of 99 values kept whole by chance
    has probability 0.7**99)."""
    torch = pytest.importorskip("torch")
    library = REGISTRY.implementations["dropout.channel/library/torch"]
    case = CHANNEL.find_case("channel_f32")
    assert isinstance(case, Case)
    inputs = case_inputs(CHANNEL, case)
    expected = oracle_output(CHANNEL, case)
    compare = CHANNEL.own_rng_compare
    assert compare is not None
    tol = compare.tolerance(case)
    opts = DropoutOptions()
    x, mask, p = (inputs[k] for k in ("x", "mask", "p"))
    tx, tmask = torch.from_numpy(x.copy()), torch.from_numpy(mask.copy())
    assert library.fn is not None
    false_alarms = wrong_passes = 0
    for seed in range(200):
        seed_all(seed)
        y = library.fn(tx, tmask, p, opts).numpy()
        false_alarms += not compare(y, expected, inputs, case, tol).passed
        seed_all(seed)
        bad = fake_channel_keeps_with_p(x, mask, p, opts)
        wrong_passes += compare(bad, expected, inputs, case, tol).passed
        per_value = torch.nn.functional.dropout(tx, p, training=True).numpy()
        wrong_passes += compare(per_value, expected, inputs, case, tol).passed
    assert false_alarms <= 3
    assert wrong_passes == 0
