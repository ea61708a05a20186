"""Pitfalls of resize_bicubic_lanczos: each deliberately wrong variant is flagged by verify.

The variants are NumPy functions (the oracle with one rule changed) wrapped in harness
Implementation records and run on the suite's own cases (fixed seeds) through
harness.verify.verify.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.verify import verify
from suites.resize_bicubic_lanczos import (
    SUITE,
    ResizeCubicOptions,
    keys,
    resize_bicubic_lanczos,
)
from suites.resize_bilinear import ResizeOptions, _separable, round_half_up, source_fraction

Fn = Callable[..., Any]
Weights = Callable[[int, int, ResizeCubicOptions], Any]


def _verdict(fn: Fn, case: str) -> Any:
    impl = Implementation("resize_bicubic_lanczos", "numpy", fn.__name__, fn)
    return verify(SUITE, impl, SUITE.find_case(case))


def correct(image: Any, out_h: int, out_w: int, opts: ResizeCubicOptions) -> Any:
    return resize_bicubic_lanczos(image, out_h, out_w, opts)


def assert_caught(fn: Fn, case: str, words: str = "elements differ") -> None:
    assert _verdict(correct, case).status == "pass", "the oracle itself fails"
    v = _verdict(fn, case)
    assert v.status in ("fail", "error") and words in v.detail, v.detail


def _with(weights: Weights) -> Fn:
    """A resize whose per-axis weight matrices come from ``weights`` (float64, then the
    oracle's dtype rule)."""

    def resize(image: Any, out_h: int, out_w: int, opts: ResizeCubicOptions) -> Any:
        x = np.asarray(image)
        n, c, h, w = x.shape
        wy, wx = weights(h, out_h, opts), weights(w, out_w, opts)
        out = _separable(x.astype(np.float64).reshape(n * c, h, w), wy, wx)
        out = out.reshape(n, c, out_h, out_w)
        return round_half_up(out) if x.dtype == np.uint8 else out.astype(x.dtype)

    return resize


def _tapped(
    kernel: Callable[[float], float], taps: int, normalise: bool, clamp_source: bool = False
) -> Weights:
    """Replicate-border weights of a kernel over ``taps`` taps around floor(src)."""

    def weights(n_in: int, n_out: int, opts: ResizeCubicOptions) -> Any:
        m = np.zeros((n_out, n_in))
        for d in range(n_out):
            src = source_fraction(d, n_in, n_out, ResizeOptions(align_corners=opts.align_corners))
            src = max(src, Fraction(0)) if clamp_source else src
            i = math.floor(src)
            for j in range(i - taps // 2 + 1, i + taps // 2 + 1):
                m[d, min(max(j, 0), n_in - 1)] += kernel(float(j - src))
            if normalise:
                m[d] /= m[d].sum()
        return m

    return weights


def _lanczos(n: int) -> Callable[[float], float]:
    return lambda t: float(np.sinc(t) * np.sinc(t / n))


# ---- kernel and mapping conventions ------------------------------------------------------------

pillow_a_for_cubic = _with(_tapped(lambda t: keys(t, -0.5), 4, False))
negative_source_clamped = _with(_tapped(lambda t: keys(t, -0.75), 4, False, clamp_source=True))
lanczos_unnormalised = _with(_tapped(_lanczos(4), 8, False))
lanczos3_for_lanczos4 = _with(_tapped(_lanczos(3), 6, True))


def half_pixel_always(image: Any, out_h: int, out_w: int, opts: ResizeCubicOptions) -> Any:
    return correct(image, out_h, out_w, ResizeCubicOptions(opts.mode, align_corners=False))


def pillow_border_for_a05(image: Any, out_h: int, out_w: int, opts: ResizeCubicOptions) -> Any:
    """Drops the taps outside the image and renormalises (Pillow) instead of replicating."""
    return correct(image, out_h, out_w, ResizeCubicOptions("cubic_antialias"))


def antialias_not_stretched(image: Any, out_h: int, out_w: int, opts: ResizeCubicOptions) -> Any:
    """Pillow's truncated, normalised a = -0.5 filter, but never widened on downscale."""

    def weights(n_in: int, n_out: int, o: ResizeCubicOptions) -> Any:
        m = np.zeros((n_out, n_in))
        for d in range(n_out):
            centre = (d + 0.5) * n_in / n_out
            for j in range(max(int(centre - 1.5), 0), min(int(centre + 2.5), n_in)):
                m[d, j] = keys(j + 0.5 - centre, -0.5)
            m[d] /= m[d].sum()
        return m

    return _with(weights)(image, out_h, out_w, opts)


@pytest.mark.parametrize(
    ("fn", "case"),
    [
        (pillow_a_for_cubic, "up2x_f32"),
        (negative_source_clamped, "up2x_f64"),
        (lanczos_unnormalised, "lanczos4_mixed_f64"),
        (lanczos3_for_lanczos4, "lanczos4_up2x_f32"),
        (half_pixel_always, "align_corners_f64"),
        (pillow_border_for_a05, "cubic_a05_f64"),
        (antialias_not_stretched, "antialias_down_f64"),
    ],
)
def test_kernel_and_mapping_mistakes_are_caught(fn: Fn, case: str) -> None:
    assert_caught(fn, case)


def test_pillow_border_differs_from_replicate_even_when_upscaling() -> None:
    """The spec's warning (compare with Pillow on upscale only) does not make the filters
    equal: 'cubic_antialias' and 'cubic_a0.5' share a = -0.5 but not the border."""
    v = _verdict(pillow_border_for_a05, "cubic_a05_align_f32")  # upscaling rows
    assert v.status == "fail"


# ---- overshoot: floats free, uint8 saturated once ------------------------------------------------


def float_clamped(image: Any, out_h: int, out_w: int, opts: ResizeCubicOptions) -> Any:
    """Clamps float results to the input's range, as a uint8 pipeline would."""
    out = correct(image, out_h, out_w, opts)
    return np.clip(out, image.min(), image.max()) if out.dtype.kind == "f" else out


def uint8_wraps(image: Any, out_h: int, out_w: int, opts: ResizeCubicOptions) -> Any:
    """Rounds but casts without saturating: -3 becomes 253."""
    out = correct(image.astype(np.float64), out_h, out_w, opts)
    return np.floor(out + 0.5).astype(np.int64).astype(np.uint8)


def uint8_saturated_between_passes(
    image: Any, out_h: int, out_w: int, opts: ResizeCubicOptions
) -> Any:
    """torch's own uint8 bicubic: the first pass is rounded and saturated to uint8."""
    first = correct(image, image.shape[2], out_w, opts)  # columns only, uint8 out
    return correct(first, out_h, out_w, opts)  # then the rows


def uint8_truncates(image: Any, out_h: int, out_w: int, opts: ResizeCubicOptions) -> Any:
    """Saturates but truncates instead of rounding half up: x.7 becomes x."""
    out = correct(image.astype(np.float64), out_h, out_w, opts)
    return np.clip(np.floor(out), 0, 255).astype(np.uint8)


def uint8_clamps_above_only(image: Any, out_h: int, out_w: int, opts: ResizeCubicOptions) -> Any:
    """Rounds, saturates at 255 but not at 0: a negative overshoot wraps (-3 -> 253)."""
    out = correct(image.astype(np.float64), out_h, out_w, opts)
    return np.minimum(np.floor(out + 0.5), 255).astype(np.int64).astype(np.uint8)


def test_float_outputs_are_not_clamped() -> None:
    assert_caught(float_clamped, "float_overshoot_f64")


@pytest.mark.parametrize("fn", [uint8_wraps, uint8_saturated_between_passes])
def test_uint8_saturates_once_at_the_end(fn: Fn) -> None:
    assert_caught(fn, "uint8_overshoot")


@pytest.mark.parametrize("case", ["uint8_up2x", "uint8_down", "uint8_antialias_up"])
def test_uint8_truncation_is_caught_by_the_exact_comparison(case: str) -> None:
    """Truncating is at most 1 grey level off, so only the exact 'exact' comparison sees it."""
    assert_caught(uint8_truncates, case)


def test_uint8_without_saturation_at_zero_is_caught() -> None:
    assert_caught(uint8_clamps_above_only, "uint8_overshoot")


def test_the_fixed_point_allowance_is_one_grey_level() -> None:
    """Under 'fixed_point' (OpenCV's own uint8 path) truncation passes: that is the
    allowance the library needs, and why 'exact' is the default every backend meets."""
    assert _verdict(uint8_truncates, "uint8_fixed_point").status == "pass"


# ---- the generic mistakes ----------------------------------------------------------------------


def float32_arithmetic(image: Any, out_h: int, out_w: int, opts: ResizeCubicOptions) -> Any:
    return correct(image.astype(np.float32), out_h, out_w, opts).astype(image.dtype)


def empty_flat(image: Any, out_h: int, out_w: int, opts: ResizeCubicOptions) -> Any:
    out = correct(image, out_h, out_w, opts)
    return out.reshape(out.shape[0], -1) if out.size == 0 else out


def tiled_wrong_past_first_block(
    image: Any, out_h: int, out_w: int, opts: ResizeCubicOptions
) -> Any:
    """Output columns in tiles of 256; later tiles read the input one column late."""
    out = correct(image, out_h, out_w, opts)
    late = np.roll(image, 1, axis=3)
    out[..., 256:] = correct(late, out_h, out_w, opts)[..., 256:]
    return out


def identity_returns_input(image: Any, out_h: int, out_w: int, opts: ResizeCubicOptions) -> Any:
    return image if image.shape[2:] == (out_h, out_w) else correct(image, out_h, out_w, opts)


def test_float32_arithmetic_on_float64_inputs() -> None:
    assert_caught(float32_arithmetic, "mixed_f64")


@pytest.mark.parametrize("case", ["empty_batch", "empty_channels"])
def test_an_empty_output_of_the_wrong_shape(case: str) -> None:
    assert_caught(empty_flat, case, "shape")


def test_a_tile_wrong_past_the_first_block() -> None:
    assert_caught(tiled_wrong_past_first_block, "multi_block", "(0, 0, 0, 256)")


def test_an_identity_resize_must_not_return_its_input() -> None:
    v = _verdict(identity_returns_input, "identity_f32")
    assert v.status in ("fail", "error") and "shares memory" in v.detail, v.detail


@pytest.mark.parametrize("values", [{"mode": "bilinear"}, {"mode": "area"}])
def test_unknown_modes_raise(values: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="mode"):
        ResizeCubicOptions.build(values)


# ---- the spec's facts about the libraries -------------------------------------------------


def test_opencv_cubic_equals_torch_bicubic_on_a_2x_upscale_and_nearly_on_a_downscale() -> None:
    cv2 = pytest.importorskip("cv2")
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    plane = rng.random((20, 24))

    def both(oh: int, ow: int) -> float:
        ours = cv2.resize(plane, (ow, oh), interpolation=cv2.INTER_CUBIC)
        t = torch.nn.functional.interpolate(
            torch.from_numpy(plane)[None, None], size=(oh, ow), mode="bicubic", align_corners=False
        )
        return float(np.abs(ours - t[0, 0].numpy()).max())

    assert both(40, 48) < 1e-14
    assert 1e-12 < both(13, 17) < 2e-5
