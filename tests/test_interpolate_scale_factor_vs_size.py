"""Pitfalls of interpolate_scale_factor_vs_size: each wrong variant is flagged by verify.

The variants are NumPy functions wrapped in harness Implementation records and run on the
suite's own cases (fixed seeds) through harness.verify.verify. ``_resample`` is a plain
re-implementation with its output-size rule, ratio rule and index rule as knobs; each wrong
variant turns one knob.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.verify import verify
from suites.interpolate_scale_factor_vs_size import (
    SUITE,
    ScaleOptions,
    interpolate_scale_factor_vs_size,
    plan,
)

Fn = Callable[..., Any]
SizeRule = Callable[[int, float], int]


def _verdict(fn: Fn, case: str) -> Any:
    impl = Implementation(SUITE.algorithm, "numpy", fn.__name__, fn)
    return verify(SUITE, impl, SUITE.find_case(case))


def _axis(x: Any, n_out: int, ratio: float, axis: int, mode: str, nearest_rule: str) -> Any:
    n_in = x.shape[axis]
    d = np.arange(n_out, dtype=np.float64)
    if mode == "nearest":
        src = d * ratio if nearest_rule == "legacy" else (d + 0.5) * ratio
        idx = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
        return np.take(x, idx, axis=axis)
    src = np.maximum((d + 0.5) * ratio - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    frac = np.where(i0 < n_in - 1, src - i0, 0.0)
    i1 = np.minimum(i0 + 1, n_in - 1)
    shape = (-1, 1) if axis == 2 else (-1,)
    lo, hi = np.take(x, i0, axis=axis), np.take(x, i1, axis=axis)
    return lo * (1 - frac).reshape(shape) + hi * frac.reshape(shape)


def _resample(
    image: Any,
    out_h: Any,
    out_w: Any,
    scale_h: Any,
    scale_w: Any,
    opts: ScaleOptions,
    size_rule: SizeRule = lambda n, s: math.floor(n * s),
    ratio_from: str | None = None,
    nearest_rule: str = "legacy",
) -> Any:
    dtype, oh, ow, used = plan(image, out_h, out_w, scale_h, scale_w, opts)
    h, w = image.shape[2:]
    if scale_h is not None:
        oh, ow = size_rule(h, scale_h), size_rule(w, scale_w)
    source = ratio_from or ("scale" if used else "size")
    ry = 1 / scale_h if source == "scale" else h / oh
    rx = 1 / scale_w if source == "scale" else w / ow
    x = np.asarray(image, dtype=np.float64)
    rows = _axis(x, oh, ry, 2, opts.mode, nearest_rule)
    return _axis(rows, ow, rx, 3, opts.mode, nearest_rule).astype(dtype)


def plain(
    image: Any, out_h: Any, out_w: Any, scale_h: Any, scale_w: Any, opts: ScaleOptions
) -> Any:
    return _resample(image, out_h, out_w, scale_h, scale_w, opts)


@pytest.mark.parametrize(
    "case",
    ["scale_1_5_f64", "scale_1_5_recompute_f64", "size_given_f64", "per_axis_f64",
     "nearest_scale_1_5_f32", "nearest_recompute_f32", "multi_block", "same_size_scale_1_01"],
)  # fmt: skip
def test_a_plain_float64_reimplementation_passes(case: str) -> None:
    assert _verdict(plain, case).status == "pass"


# ---- the convention split: which ratio maps the coordinates ----------------------------------


def always_one_over_scale(
    image: Any, out_h: Any, out_w: Any, scale_h: Any, scale_w: Any, opts: ScaleOptions
) -> Any:
    """Ignores recompute_scale_factor: scale factors always map with 1/scale."""
    src = "scale" if scale_h is not None else "size"
    return _resample(image, out_h, out_w, scale_h, scale_w, opts, ratio_from=src)


def always_in_over_out(
    image: Any, out_h: Any, out_w: Any, scale_h: Any, scale_w: Any, opts: ScaleOptions
) -> Any:
    """Treats a scale factor like a size: maps with in/out (the recompute path)."""
    return _resample(image, out_h, out_w, scale_h, scale_w, opts, ratio_from="size")


def copies_on_same_size(
    image: Any, out_h: Any, out_w: Any, scale_h: Any, scale_w: Any, opts: ScaleOptions
) -> Any:
    """torch's shortcut: an output of the input's size is a copy, whatever the scale."""
    _, oh, ow, _ = plan(image, out_h, out_w, scale_h, scale_w, opts)
    if (oh, ow) == tuple(image.shape[2:]):
        return image.copy()
    return plain(image, out_h, out_w, scale_h, scale_w, opts)


def halves_on_double_size(
    image: Any, out_h: Any, out_w: Any, scale_h: Any, scale_w: Any, opts: ScaleOptions
) -> Any:
    """torch's nearest shortcut: an output of twice the input's size takes dst >> 1."""
    _, oh, ow, _ = plan(image, out_h, out_w, scale_h, scale_w, opts)
    if opts.mode == "nearest" and (oh, ow) == (2 * image.shape[2], 2 * image.shape[3]):
        return image.repeat(2, axis=2).repeat(2, axis=3)
    return plain(image, out_h, out_w, scale_h, scale_w, opts)


@pytest.mark.parametrize(
    ("fn", "case"),
    [
        (always_one_over_scale, "scale_1_5_recompute_f64"),
        (always_one_over_scale, "per_axis_recompute_f32"),
        (always_in_over_out, "scale_1_5_f64"),
        (always_in_over_out, "spec_5x5_at_1_5"),
        (always_in_over_out, "scale_0_7_f32"),
        (always_in_over_out, "nearest_scale_0_7_f64"),
        (copies_on_same_size, "same_size_scale_1_01"),
        (halves_on_double_size, "double_size_nearest_2_04"),
    ],
)
def test_ratio_mistakes_are_caught(fn: Fn, case: str) -> None:
    v = _verdict(fn, case)
    assert v.status == "fail" and "elements differ" in v.detail, v.detail


def test_the_ratios_agree_where_in_times_scale_is_an_integer() -> None:
    """Why integer_product cases exist: there the wrong ratio passes, so the other cases
    are what catch it."""
    assert _verdict(always_in_over_out, "integer_product_f64").status == "pass"
    assert _verdict(always_one_over_scale, "integer_product_nearest").status == "pass"


def test_the_spec_example_5x5_at_1_5() -> None:
    """7x7 both ways, up to 1.57 apart on the ramp 0..24; with recompute they coincide."""
    ramp = np.arange(25.0).reshape(1, 1, 5, 5)
    by_scale = interpolate_scale_factor_vs_size(
        ramp, None, None, 1.5, 1.5, ScaleOptions(scale_source="scale_factor")
    )
    by_size = interpolate_scale_factor_vs_size(ramp, None, None, 1.5, 1.5, ScaleOptions())
    given = interpolate_scale_factor_vs_size(ramp, 7, 7, None, None, ScaleOptions())
    assert by_scale.shape == by_size.shape == (1, 1, 7, 7)
    assert np.abs(by_scale - by_size).max() == pytest.approx(11 / 7, abs=1e-12)
    np.testing.assert_allclose(by_size, given, atol=1e-12)


# ---- output size, axes, nearest rule ---------------------------------------------------------


def rounds_the_size(
    image: Any, out_h: Any, out_w: Any, scale_h: Any, scale_w: Any, opts: ScaleOptions
) -> Any:
    """OpenCV's dsize rule round(in·scale) instead of floor."""
    return _resample(
        image, out_h, out_w, scale_h, scale_w, opts, size_rule=lambda n, s: max(round(n * s), 1)
    )


def one_scale_for_both_axes(
    image: Any, out_h: Any, out_w: Any, scale_h: Any, scale_w: Any, opts: ScaleOptions
) -> Any:
    return plain(image, out_h, out_w, scale_h, scale_h if scale_h is not None else None, opts)


def nearest_exact(
    image: Any, out_h: Any, out_w: Any, scale_h: Any, scale_w: Any, opts: ScaleOptions
) -> Any:
    return _resample(image, out_h, out_w, scale_h, scale_w, opts, nearest_rule="exact")


@pytest.mark.parametrize(
    ("fn", "case", "words"),
    [
        (rounds_the_size, "scale_0_7_f32", "shape"),
        (one_scale_for_both_axes, "per_axis_f64", "shape"),
        (nearest_exact, "nearest_scale_1_5_f32", "elements differ"),
        (nearest_exact, "nearest_size_given", "elements differ"),
    ],
)
def test_size_and_rule_mistakes_are_caught(fn: Fn, case: str, words: str) -> None:
    v = _verdict(fn, case)
    assert v.status == "fail" and words in v.detail, v.detail


def float32_index_arithmetic(
    image: Any, out_h: Any, out_w: Any, scale_h: Any, scale_w: Any, opts: ScaleOptions
) -> Any:
    """torch's nearest: floorf(dst · float32(1/scale)), which lands a pixel off the exact
    floor where dst/scale is (within rounding of) an integer."""
    dtype, oh, ow, used = plan(image, out_h, out_w, scale_h, scale_w, opts)
    h, w = image.shape[2:]

    def index(n_in: int, n_out: int, scale: float | None) -> Any:
        ratio = np.float32(1.0 / scale) if scale else np.float32(n_in) / np.float32(n_out)
        d = np.arange(n_out, dtype=np.float32)
        return np.minimum(np.floor(d * ratio).astype(np.int64), n_in - 1)

    rows = index(h, oh, used[0] if used else None)
    cols = index(w, ow, used[1] if used else None)
    return image[:, :, rows][:, :, :, cols].astype(dtype)


def test_nearest_accepts_either_side_of_an_exact_boundary_only() -> None:
    """At 2.3 on 37 rows, 69/2.3 is 30 + 4e-16 exactly but 29.999998 in float32: the
    float32 variant differs from the exact floor there and passes; one pixel off
    everywhere does not."""
    inputs = SUITE.inputs_for(SUITE.find_case("nearest_recompute_f32"))  # type: ignore[arg-type]
    img = inputs["image"].astype(np.float64)
    opts = ScaleOptions(scale_source="scale_factor", mode="nearest")
    exact = interpolate_scale_factor_vs_size(img, None, None, 2.3, 2.3, opts)
    f32 = float32_index_arithmetic(img, None, None, 2.3, 2.3, opts)
    assert not np.array_equal(exact, f32)
    for case in ("nearest_scale_1_5_f32", "nearest_scale_0_7_f64", "nearest_recompute_f32"):
        assert _verdict(float32_index_arithmetic, case).status == "pass", case

    def one_off(image: Any, oh: Any, ow: Any, sh: Any, sw: Any, o: ScaleOptions) -> Any:
        out = plain(image, oh, ow, sh, sw, o)
        return np.concatenate([out[:, :, :1], out[:, :, :-1]], axis=2)

    assert _verdict(one_off, "nearest_scale_1_5_f32").status == "fail"


# ---- the generic mistakes --------------------------------------------------------------------


def float32_arithmetic(
    image: Any, out_h: Any, out_w: Any, scale_h: Any, scale_w: Any, opts: ScaleOptions
) -> Any:
    out = plain(image.astype(np.float32), out_h, out_w, scale_h, scale_w, opts)
    return out.astype(image.dtype)


def empty_wrong_shape(
    image: Any, out_h: Any, out_w: Any, scale_h: Any, scale_w: Any, opts: ScaleOptions
) -> Any:
    out = plain(image, out_h, out_w, scale_h, scale_w, opts)
    return np.empty((0,), dtype=out.dtype) if out.size == 0 else out


def identity_returns_the_input(
    image: Any, out_h: Any, out_w: Any, scale_h: Any, scale_w: Any, opts: ScaleOptions
) -> Any:
    if scale_h == 1 and scale_w == 1:
        return image
    return plain(image, out_h, out_w, scale_h, scale_w, opts)


def tiled_wrong_past_first_block(
    image: Any, out_h: Any, out_w: Any, scale_h: Any, scale_w: Any, opts: ScaleOptions
) -> Any:
    """Output columns in tiles of 256; later tiles read their source one column late."""
    out = plain(image, out_h, out_w, scale_h, scale_w, opts)
    moved = np.concatenate([image[..., 1:], image[..., -1:]], axis=3)
    out[..., 256:] = plain(moved, out_h, out_w, scale_h, scale_w, opts)[..., 256:]
    return out


@pytest.mark.parametrize(
    ("fn", "case", "words"),
    [
        (float32_arithmetic, "scale_1_5_f64", "elements differ"),
        (empty_wrong_shape, "empty_channels", "has shape (0,), expected (2, 0, 7, 17)"),
        (empty_wrong_shape, "empty_batch", "expected (0, 3, 7, 17)"),
        (identity_returns_the_input, "scale_1_identity", "shares memory"),
        (tiled_wrong_past_first_block, "multi_block", "elements differ; first at (0, 0, 0, 256)"),
    ],
)
def test_generic_mistakes_are_caught(fn: Fn, case: str, words: str) -> None:
    v = _verdict(fn, case)
    assert v.status == "fail" and words in v.detail, v.detail


@pytest.mark.parametrize(
    ("sizes", "scales", "match"),
    [
        ((7, 9), (1.5, 1.5), "not both"),
        ((None, None), (None, None), "not both"),
        ((7, None), (None, None), "out_h and out_w"),
        ((None, None), (1.5, None), "scale_h and scale_w"),
        ((None, None), (0.0, 1.5), "scale_h"),
        ((None, None), (1.5, -1.0), "scale_w"),
        ((None, None), (0.1, 1.5), "empty output"),
    ],
)
def test_bad_size_and_scale_combinations_raise(
    sizes: tuple[Any, Any], scales: tuple[Any, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        interpolate_scale_factor_vs_size(np.zeros((1, 1, 5, 6)), *sizes, *scales, ScaleOptions())
