"""Pitfalls of Xavier/Kaiming initialisation: each wrong variant is flagged, statistically.

Every verdict here is a Kolmogorov-Smirnov test (plus the exact bound of uniform laws) at
alpha = 1e-3 on draws made under fixed seeds: the suite's case seeds for the verify runs,
and seeds 0..199 for the measurements of false alarms and power. No seed was chosen after
looking at a result.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.backends import seed_all
from harness.comparators.statistical import bound_in
from harness.registry import Implementation, load_registry
from harness.spec import Case
from harness.verify import case_inputs, oracle_output, verify
from suites.weight_init_xavier_kaiming import (
    ARGS,
    SUITE,
    TRUNC_STD,
    UNWRITTEN,
    InitOptions,
    gain,
    spread,
    trunc_scale,
)

Fn = Callable[..., Any]
REGISTRY = load_registry()


def _verdict(fn: Fn, case: str) -> Any:
    impl = Implementation("weight_init_xavier_kaiming", "numpy", fn.__name__, fn)
    return verify(SUITE, impl, SUITE.find_case(case))


def _draw(weight: Any, s: float, uniform: bool) -> None:
    """Fill weight in place from NumPy's global generator: U(-s, s) or N(0, s^2)."""
    draws = (
        np.random.uniform(-s, s, weight.shape) if uniform else np.random.normal(0, s, weight.shape)
    )
    weight[...] = draws


def _uniform(opts: InitOptions) -> bool:
    return opts.scheme.endswith("uniform")


# ---- a correct reference and the classic mistakes -------------------------------------------


def _cut_normal(weight: Any, s: float) -> None:
    """N(0, s^2) cut to [-2s, 2s] by redrawing, from NumPy's global generator."""
    z = np.random.normal(0.0, 1.0, weight.shape)
    while (far := np.abs(z) > 2.0).any():
        z[far] = np.random.normal(0.0, 1.0, int(far.sum()))
    weight[...] = s * z


def correct(weight: Any, opts: InitOptions) -> None:
    ARGS.check(weight)
    if opts.truncation != "none":
        _cut_normal(weight, trunc_scale(spread(weight.shape, opts), opts))
        return
    _draw(weight, spread(weight.shape, opts), _uniform(opts))


def truncation_ignored(weight: Any, opts: InitOptions) -> None:
    """The plain normal where a truncated one is asked for."""
    _draw(weight, spread(weight.shape, opts), uniform=False)


def variance_correction_forgotten(weight: Any, opts: InitOptions) -> None:
    """Keras's truncated law with torch's scale: std where std/0.8796 is due."""
    _cut_normal(weight, spread(weight.shape, opts))


def variance_correction_added(weight: Any, opts: InitOptions) -> None:
    """torch's trunc_normal_ law with Keras's variance-keeping scale std/0.8796."""
    _cut_normal(weight, spread(weight.shape, opts) / TRUNC_STD)


def fan_out_for_fan_in(weight: Any, opts: InitOptions) -> None:
    other = "fan_out" if opts.mode == "fan_in" else "fan_in"
    correct(weight, InitOptions(opts.scheme, other, opts.nonlinearity, opts.negative_slope))


def gain_forgotten(weight: Any, opts: InitOptions) -> None:
    """relu's sqrt(2) left out (the linear gain used): off by sqrt(2)."""
    correct(weight, InitOptions(opts.scheme, opts.mode, "linear", 0.0))


def normal_for_uniform(weight: Any, opts: InitOptions) -> None:
    std = spread(weight.shape, opts) / (math.sqrt(3.0) if _uniform(opts) else 1.0)
    _draw(weight, std, uniform=False)


def uniform_for_normal(weight: Any, opts: InitOptions) -> None:
    std = spread(weight.shape, opts) / (math.sqrt(3.0) if _uniform(opts) else 1.0)
    _draw(weight, math.sqrt(3.0) * std, uniform=True)


def xavier_with_fan_in_only(weight: Any, opts: InitOptions) -> None:
    """std = gain/sqrt(fan_in), where Xavier averages: gain·sqrt(2/(fan_in + fan_out))."""
    std = gain(opts) / math.sqrt(math.prod(weight.shape[1:]))
    _draw(weight, math.sqrt(3.0) * std if _uniform(opts) else std, _uniform(opts))


def kernel_ignored(weight: Any, opts: InitOptions) -> None:
    """fan = in (or out) without the receptive field k = prod(kernel)."""
    _draw(weight, spread(weight.shape[:2], opts), _uniform(opts))


def slope_ignored(weight: Any, opts: InitOptions) -> None:
    correct(weight, InitOptions(opts.scheme, opts.mode, opts.nonlinearity, 0.0))


def float32_draws(weight: Any, opts: InitOptions) -> None:
    s = spread(weight.shape, opts)
    rng = np.random.default_rng(np.random.randint(2**31))
    u = rng.random(weight.shape, dtype=np.float32)
    z = rng.standard_normal(weight.shape, dtype=np.float32)
    weight[...] = (2 * u - 1) * s if _uniform(opts) else z * s


def first_block_only(weight: Any, opts: InitOptions) -> None:
    """Rows in blocks of 256; only the first block is written."""
    _draw(weight[:256], spread(weight.shape, opts), _uniform(opts))


def returns_a_new_array(weight: Any, opts: InitOptions) -> Any:
    out = np.empty_like(weight)
    correct(out, opts)
    return out


def unchecked(weight: Any, opts: InitOptions) -> None:
    weight[...] = 0.0


PITFALLS = [
    # (wrong variant, case, words the diagnosis must contain)
    (fan_out_for_fan_in, "kaiming_uniform_conv_f32", "distribution differs"),
    (fan_out_for_fan_in, "kaiming_normal_fan_out_f64", "distribution differs"),
    (gain_forgotten, "kaiming_uniform_conv_f32", "distribution differs"),
    (gain_forgotten, "xavier_uniform_f32", "distribution differs"),
    (normal_for_uniform, "xavier_uniform_f32", "past the bound"),
    (uniform_for_normal, "multi_block", "distribution differs"),
    (xavier_with_fan_in_only, "xavier_uniform_f32", "distribution differs"),
    (kernel_ignored, "kaiming_uniform_conv_f32", "past the bound"),
    (slope_ignored, "torch_default_layer_f32", "past the bound"),
    (float32_draws, "xavier_normal_f64", "float32 numbers"),
    (first_block_only, "multi_block", "distribution differs"),
    (returns_a_new_array, "xavier_uniform_f32", "past the bound"),
    (truncation_ignored, "kaiming_trunc_normal_f32", "past the bound"),
    (truncation_ignored, "xavier_trunc_rescaled_f64", "past the bound"),
    (variance_correction_forgotten, "xavier_trunc_rescaled_f64", "distribution differs"),
    (variance_correction_added, "kaiming_trunc_normal_f32", "past the bound"),
    (unchecked, "vector", "must raise ValueError"),
    (unchecked, "integer_weight", "must raise TypeError"),
]


@pytest.mark.parametrize(("fn", "case", "words"), PITFALLS, ids=lambda v: getattr(v, "__name__", v))
def test_the_suite_flags_each_pitfall(fn: Fn, case: str, words: str) -> None:
    v = _verdict(fn, case)
    assert v.status == "fail", (v.status, v.detail)
    assert words in v.detail


@pytest.mark.parametrize(
    "case", sorted({case for _, case, _ in PITFALLS} - {"vector", "integer_weight"})
)
def test_the_correct_reference_passes(case: str) -> None:
    """On every case a pitfall is shown on (the project's implementations run on all)."""
    assert _verdict(correct, case).status == "pass"


def test_the_blocked_mistake_hides_in_the_first_block() -> None:
    assert _verdict(first_block_only, "xavier_uniform_f32").status == "pass"


def test_the_truncated_normal_std_is_scipys() -> None:
    from scipy import stats

    assert float(stats.truncnorm(-2.0, 2.0).std()) == pytest.approx(TRUNC_STD, rel=1e-15)


def test_unknown_options_are_refused() -> None:
    for bad in SUITE.invalid_options:
        with pytest.raises(ValueError):
            InitOptions.build(bad)


def test_the_uniform_bound_is_held_in_the_output_dtype() -> None:
    """float32 rounding of a draw near b may give the float32 just above b: allowed, and
    nothing further (the next float32 up fails)."""
    b = 0.1
    top = bound_in("float32", b)
    assert top >= b and np.float32(top) == top
    assert float(np.nextafter(np.float32(top), np.float32(1))) > top
    assert b < bound_in("float64", b) < b * (1 + 1e-15)


def test_an_unwritten_value_cannot_pass() -> None:
    """The weight arrives filled with UNWRITTEN, past every law's bound and 4000+ standard
    deviations out for every normal law of the verify cases."""
    for case in SUITE.cases:
        law = oracle_output(SUITE, case)
        if math.prod(law.shape):
            assert 100 * law.dist.std() < UNWRITTEN, case.name


# ---- measured: false alarms and power over 200 seeds ---------------------------------------

SHAPE = (64, 128)  # fan_in 128, fan_out 64: a fan mix-up is a factor sqrt(2) in the spread
KAIMING = InitOptions("kaiming_uniform", "fan_in", "relu")


def _failures(fn: Fn, opts: InitOptions, seeds: range) -> int:
    case = Case("seeds", {"shape": list(SHAPE), "dtype": "float64"}, opts.changed(), "regular")
    compare = SUITE.compare
    tol = compare.tolerance(case)
    inputs = case_inputs(SUITE, case)
    law = SUITE.oracle(inputs["weight"], opts)
    failed = 0
    for seed in seeds:
        weight = np.array(inputs["weight"], copy=True)
        seed_all(seed)
        fn(weight, opts)
        failed += not compare(weight, law, inputs, case, tol).passed
    return failed


def test_false_alarms_over_200_seeds_match_alpha() -> None:
    """Seeds 0..199, the first 200, fixed before any run. A correct implementation fails
    each seed with probability alpha = 1e-3, so its count is Binomial(200, 1e-3): P(more
    than 3) = 5.5e-5. Measured on the implementation whose generator is the project's own
    (Numba's counter-based SplitMix64: uniform, and Box-Muller normal), 8192 values a draw."""
    fn = REGISTRY.implementations["weight_init_xavier_kaiming/numba/splitmix"].fn
    assert fn is not None
    for opts in (KAIMING, InitOptions("kaiming_normal", "fan_in", "relu")):
        assert _failures(fn, opts, range(200)) <= 3, opts.scheme


@pytest.mark.parametrize(
    "fn", [fan_out_for_fan_in, gain_forgotten, normal_for_uniform], ids=lambda f: f.__name__
)
def test_plausible_mistakes_fail_on_all_200_seeds(fn: Fn) -> None:
    """The same seeds 0..199 and shape (8192 values), kaiming_uniform with relu's gain.
    fan_out (64) for fan_in (128) widens the bound by sqrt(2) and a normal law of the
    right variance reaches past it: both break the exact bound. The forgotten gain narrows
    the law by sqrt(2), which only the KS test can see: a CDF distance of 0.146 against a
    critical distance of 0.022 at alpha = 1e-3, so the power is 1 to many decimals."""
    assert _failures(fn, KAIMING, range(200)) == 200
