"""Pitfalls of classification_augment_ops: each wrong variant is flagged by verify.

The variants are NumPy functions wrapped in harness Implementation records and run on the
suite's own cases (fixed seeds) through harness.verify.verify. ``_pipeline`` re-runs the
oracle's steps with one of them swapped for a wrong one (a crop rule, a jitter step, the
order, the flip, the conversion).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.verify import verify
from suites import classification_augment_ops as suite_module
from suites.classification_augment_ops import (
    AA,
    GRAY_WEIGHTS,
    SUITE,
    AugmentOptions,
    check_augment,
    classification_augment_ops,
    crop_origin,
    grayscale,
    jitter,
    random_crop_origin,
    resized_crop_box,
)
from suites.resize_bilinear import ResizeOptions, resize_bilinear

Fn = Callable[..., Any]
Step = Callable[[Any, int, float, tuple[float, float, float]], Any]


def _verdict(fn: Fn, case: str) -> Any:
    impl = Implementation(SUITE.algorithm, "numpy", fn.__name__, fn)
    return verify(SUITE, impl, SUITE.find_case(case))


def _pipeline(
    inputs: tuple[Any, ...],
    opts: AugmentOptions,
    origin: Callable[[int, int, int, int], tuple[int, int]] = crop_origin,
    step: Step = jitter,
    order_of: Callable[[Any], Any] = lambda row: row,
    flip_axis: int = 2,
    scale: float = 255.0,
    after_step: Callable[[Any], Any] = lambda x: x,
    box: Callable[[int, int, Any], tuple[int, int, int, int]] = resized_crop_box,
    resize_opts: ResizeOptions = AA,
    random_origin: Callable[[int, int, int, int, Any], tuple[int, int]] = random_crop_origin,
) -> Any:
    image, flip, factors, order, draws, mean, std, out_h, out_w = inputs
    check: Fn = check_augment
    dtype = check(*inputs, opts)
    n, h, w, c = image.shape
    top, left = origin(h, w, out_h, out_w)
    wts = GRAY_WEIGHTS[opts.gray_weights]
    out = np.empty((n, c, out_h, out_w))
    for k in range(n):
        x = image[k].astype(np.float64).transpose(2, 0, 1) / scale
        if opts.crop == "random_resized":
            i, j, ch, cw = box(h, w, draws[k])
            x = resize_bilinear(x[None, :, i : i + ch, j : j + cw], out_h, out_w, resize_opts)[0]
        elif opts.crop == "random":
            i, j = random_origin(h, w, out_h, out_w, draws[k])
            x = x[:, i : i + out_h, j : j + out_w]
        else:
            x = x[:, top : top + out_h, left : left + out_w]
        if flip[k]:
            x = np.flip(x, axis=flip_axis)
        for op in order_of(order[k]):
            x = after_step(step(x, int(op), float(factors[k][int(op)]), wts))
        out[k] = (x - mean[:, None, None]) / std[:, None, None]
    return out.astype(dtype)


def _variant(**knobs: Any) -> Fn:
    def fn(
        image: Any,
        flip: Any,
        factors: Any,
        order: Any,
        draws: Any,
        mean: Any,
        std: Any,
        out_h: int,
        out_w: int,
        opts: AugmentOptions,
    ) -> Any:
        return _pipeline(
            (image, flip, factors, order, draws, mean, std, out_h, out_w), opts, **knobs
        )

    return fn


def _replace_step(op_to_replace: int, wrong: Step) -> Step:
    def step(x: Any, op: int, f: float, wts: tuple[float, float, float]) -> Any:
        return wrong(x, op, f, wts) if op == op_to_replace else jitter(x, op, f, wts)

    return step


@pytest.mark.parametrize(
    "case", ["pipeline_f32", "pipeline_f64", "torchvision_gray_f64", "odd_crop_margins",
             "grayscale_input", "hue_minus_half", "multi_block", "empty_batch"],
)  # fmt: skip
def test_a_plain_reimplementation_passes(case: str) -> None:
    assert _verdict(_variant(), case).status == "pass"


# ---- crop, flip, conversion ------------------------------------------------------------------


def floor_origin(h: int, w: int, oh: int, ow: int) -> tuple[int, int]:
    return (h - oh) // 2, (w - ow) // 2


def half_up_origin(h: int, w: int, oh: int, ow: int) -> tuple[int, int]:
    return math.floor((h - oh) / 2 + 0.5), math.floor((w - ow) / 2 + 0.5)


@pytest.mark.parametrize(
    ("knobs", "case"),
    [
        ({"origin": floor_origin}, "odd_crop_margins"),  # margin 1.5: floor 1, even 2
        ({"origin": half_up_origin}, "odd_crop_margins"),  # margin 2.5: half up 3, even 2
        ({"flip_axis": 1}, "pipeline_f32"),  # a vertical flip
        ({"scale": 256.0}, "pipeline_f32"),  # ToTensor divides by 255
        ({"order_of": lambda row: range(4)}, "pipeline_f64"),  # ColorJitter's order ignored
        ({"order_of": lambda row: row[::-1]}, "pipeline_f32"),
        # PIL-style: a uint8 image between the jitter steps (rounded each time)
        ({"after_step": lambda x: np.round(x * 255.0) / 255.0}, "pipeline_f32"),
    ],
)
def test_pipeline_mistakes_are_caught(knobs: dict[str, Any], case: str) -> None:
    v = _verdict(_variant(**knobs), case)
    assert v.status == "fail" and "elements differ" in v.detail, v.detail


def test_crop_rules_agree_on_whole_margins() -> None:
    """Why the odd margins matter: on whole margins floor and half up are right too."""
    assert _verdict(_variant(origin=floor_origin), "pipeline_f32").status == "pass"
    assert crop_origin(22, 31, 19, 26) == (2, 2)


# ---- RandomCrop --------------------------------------------------------------------------------


def _random_origin_with(
    randint: Callable[[float, int], int] = lambda u, n: math.floor(u * n), top: int = 2
) -> Callable[[int, int, int, int, Any], tuple[int, int]]:
    def origin(h: int, w: int, oh: int, ow: int, u: Any) -> tuple[int, int]:
        return randint(float(u[0][top]), h - oh + 1), randint(float(u[0][5 - top]), w - ow + 1)

    return origin


@pytest.mark.parametrize(
    "knobs",
    [
        {"random_origin": lambda h, w, oh, ow, u: crop_origin(h, w, oh, ow)},  # draws ignored
        {"random_origin": _random_origin_with(randint=lambda u, n: math.floor(u * (n - 1)))},
        {"random_origin": _random_origin_with(top=3)},  # the left draw used for the top
    ],
)
def test_random_crop_mistakes_are_caught(knobs: dict[str, Any]) -> None:
    assert _verdict(_variant(), "random_crop_f32").status == "pass"
    assert _verdict(_variant(), "random_crop_f64").status == "pass"
    assert _verdict(_variant(**knobs), "random_crop_whole_image").status == "pass"  # origin 0
    v = _verdict(_variant(**knobs), "random_crop_f32")
    assert v.status == "fail" and "elements differ" in v.detail, v.detail


# ---- RandomResizedCrop -------------------------------------------------------------------------


def _box_with(
    randint: Callable[[float, int], int] = lambda u, n: math.floor(u * n),
    aspect: Callable[[float], float] = lambda u: math.exp(
        math.log(3 / 4) + (math.log(4 / 3) - math.log(3 / 4)) * u
    ),
    fallback_whole: bool = False,
) -> Callable[[int, int, Any], tuple[int, int, int, int]]:
    """get_params with one rule swapped (the draws' meaning, the fallback)."""

    def box(h: int, w: int, u: Any) -> tuple[int, int, int, int]:
        for ua, ur, ui, uj in u:
            target = h * w * (0.08 + 0.92 * float(ua))
            cw = round(math.sqrt(target * aspect(float(ur))))
            ch = round(math.sqrt(target / aspect(float(ur))))
            if 0 < cw <= w and 0 < ch <= h:
                return randint(float(ui), h - ch + 1), randint(float(uj), w - cw + 1), ch, cw
        if fallback_whole:
            return 0, 0, h, w
        return resized_crop_box(h, w, np.ones((0, 4)))

    return box


@pytest.mark.parametrize(
    ("knobs", "case"),
    [
        ({}, "random_resized_f64"),
        (
            {"randint": lambda u, n: math.floor(u * (n - 1))},
            None,
        ),  # randint's bound taken as inclusive
        ({"aspect": lambda u: 3 / 4 + (4 / 3 - 3 / 4) * u}, None),  # uniform, not log-uniform
        ({"fallback_whole": True}, "random_resized_fallback"),
    ],
)
def test_random_resized_crop_draw_rules(knobs: dict[str, Any], case: str | None) -> None:
    """The plain get_params passes; each swapped rule fails a random_resized case."""
    fn = _variant(box=_box_with(**knobs))
    if not knobs:
        assert _verdict(fn, "random_resized_f32").status == "pass"
        return
    cases = [case] if case else ["random_resized_f32", "random_resized_f64"]
    verdicts = [_verdict(fn, c) for c in cases]
    assert any(v.status == "fail" and "elements differ" in v.detail for v in verdicts)


def test_random_resized_crop_resizes_with_antialias() -> None:
    """Plain bilinear (torchvision's antialias=False, OpenCV INTER_LINEAR) on a downscaling
    crop is another filter; on an upscale the two agree."""
    fn = _variant(resize_opts=ResizeOptions())
    v = _verdict(fn, "random_resized_f64")
    assert v.status == "fail" and "elements differ" in v.detail, v.detail
    assert _verdict(fn, "random_resized_upscale").status == "pass"


# ---- the jitter formulas ----------------------------------------------------------------------


def additive_brightness(x: Any, op: int, f: float, wts: Any) -> Any:
    """kornia's adjust_brightness: x + f (here f − 1, so factor 1 stays the identity)."""
    return np.clip(x + (f - 1.0), 0.0, 1.0)


def unclamped_brightness(x: Any, op: int, f: float, wts: Any) -> Any:
    return f * x


def contrast_per_channel_mean(x: Any, op: int, f: float, wts: Any) -> Any:
    return np.clip(f * x + (1 - f) * x.mean(axis=(1, 2), keepdims=True), 0.0, 1.0)


def contrast_plain_mean(x: Any, op: int, f: float, wts: Any) -> Any:
    """The mean of all channels instead of the mean of the grayscale image."""
    return np.clip(f * x + (1 - f) * x.mean(), 0.0, 1.0)


def saturation_channel_average(x: Any, op: int, f: float, wts: Any) -> Any:
    if x.shape[0] == 1:
        return x
    return np.clip(f * x + (1 - f) * x.mean(axis=0, keepdims=True), 0.0, 1.0)


def hue_clamped(x: Any, op: int, f: float, wts: Any) -> Any:
    """Clamps the shifted hue instead of wrapping it round the circle."""
    if x.shape[0] == 1:
        return x
    hsv = suite_module.rgb_to_hsv(x)
    hsv[0] = np.clip(hsv[0] + f, 0.0, 1.0 - 1e-12)
    return suite_module.hsv_to_rgb(hsv)


def hue_in_degrees(x: Any, op: int, f: float, wts: Any) -> Any:
    """OpenCV's float HSV has H in degrees: a shift by f instead of 360·f."""
    return jitter(x, op, f / 360.0, wts)


@pytest.mark.parametrize(
    ("op", "wrong", "case"),
    [
        (0, additive_brightness, "pipeline_f32"),
        (0, unclamped_brightness, "bright_clamps"),
        (1, contrast_per_channel_mean, "pipeline_f32"),
        (1, contrast_plain_mean, "pipeline_f64"),
        (2, saturation_channel_average, "pipeline_f32"),
        (3, hue_clamped, "hue_plus_half"),
        (3, hue_in_degrees, "strong_jitter_f32"),
    ],
)
def test_jitter_mistakes_are_caught(op: int, wrong: Step, case: str) -> None:
    v = _verdict(_variant(step=_replace_step(op, wrong)), case)
    assert v.status == "fail" and "elements differ" in v.detail, v.detail


def test_the_gray_weights_are_a_convention_split() -> None:
    """0.2989 vs 0.299 for R moves contrast and saturation by about 1e-4: each setting
    fails the other's case."""

    def swapped(
        image: Any,
        flip: Any,
        factors: Any,
        order: Any,
        draws: Any,
        mean: Any,
        std: Any,
        out_h: int,
        out_w: int,
        opts: AugmentOptions,
    ) -> Any:
        other = "rec601" if opts.gray_weights == "torchvision" else "torchvision"
        inputs = (image, flip, factors, order, draws, mean, std, out_h, out_w)
        return classification_augment_ops(*inputs, AugmentOptions(other))

    for case in ("pipeline_f64", "torchvision_gray_f64"):
        v = _verdict(swapped, case)
        assert v.status == "fail" and "elements differ" in v.detail, v.detail


def test_factor_edge_values() -> None:
    """Factor 1 and hue 0 leave the image; factors 0 give black, the gray mean and gray."""
    x = np.random.default_rng(4).random((3, 5, 6))
    wts = GRAY_WEIGHTS["rec601"]
    for op in range(3):
        np.testing.assert_allclose(jitter(x, op, 1.0, wts), x, atol=1e-15)
    np.testing.assert_allclose(jitter(x, 3, 0.0, wts), x, atol=1e-12)
    assert not np.any(jitter(x, 0, 0.0, wts))
    np.testing.assert_allclose(jitter(x, 1, 0.0, wts), grayscale(x, wts).mean() + 0 * x)
    np.testing.assert_allclose(jitter(x, 2, 0.0, wts), np.repeat(grayscale(x, wts), 3, 0))
    np.testing.assert_allclose(jitter(x, 3, 0.5, wts), jitter(x, 3, -0.5, wts), atol=1e-12)


@pytest.mark.parametrize("factor", [0.0, 0.3, 0.6, 1.0, 1.4, 2.5])
@pytest.mark.parametrize("op, enhancer", [(0, "Brightness"), (1, "Contrast"), (2, "Color")])
def test_pillow_image_enhance_is_the_same_blend_truncated(
    op: int, enhancer: str, factor: float
) -> None:
    """The reference library: Pillow's ImageEnhance Brightness, Contrast and Color on uint8
    RGB are the oracle's blends (gray_weights='rec601') on the 0..255 scale, within 1 grey
    level of the oracle's value truncated to an integer. Pillow's Image.blend truncates (it
    does not round: brightness equals floor(f·x) exactly), and its degenerate images are
    themselves integers: L = (19595R + 38470G + 7471B + 2^15) >> 16 rounded, the contrast
    mean int(mean(L) + 0.5). That error, |d| <= 0.5 + 1e-4, reaches the blend scaled by
    |1 − f| <= 1.5 here: < 1 before the truncation, so at most 1 grey level after it (the
    bound holds for factors below 3)."""
    enhance = pytest.importorskip("PIL.ImageEnhance")
    image_mod = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(7)
    img = rng.integers(0, 256, (19, 23, 3), dtype=np.uint8)
    x = img.astype(np.float64).transpose(2, 0, 1) / 255.0
    ours = jitter(x, op, factor, GRAY_WEIGHTS["rec601"])
    want = np.floor(ours.transpose(1, 2, 0) * 255.0 + 1e-6)  # 1e-6: x/255·255 lands an ulp low
    got = np.asarray(getattr(enhance, enhancer)(image_mod.fromarray(img, "RGB")).enhance(factor))
    assert np.abs(got.astype(np.float64) - want).max() <= 1.0
    if op == 0:  # a blend with black: the truncation alone, nothing to be 1 off
        assert np.array_equal(got, want)


# ---- the generic mistakes --------------------------------------------------------------------


def float32_arithmetic(
    image: Any,
    flip: Any,
    factors: Any,
    order: Any,
    draws: Any,
    mean: Any,
    std: Any,
    out_h: int,
    out_w: int,
    opts: AugmentOptions,
) -> Any:
    low = (image, flip, factors.astype(np.float32), order, draws.astype(np.float32),
           mean.astype(np.float32), std.astype(np.float32), out_h, out_w)  # fmt: skip
    return classification_augment_ops(*low, opts).astype(factors.dtype)


def empty_wrong_shape(
    image: Any,
    flip: Any,
    factors: Any,
    order: Any,
    draws: Any,
    mean: Any,
    std: Any,
    out_h: int,
    out_w: int,
    opts: AugmentOptions,
) -> Any:
    inputs = (image, flip, factors, order, draws, mean, std, out_h, out_w)
    out = classification_augment_ops(*inputs, opts)
    return np.empty((0,), dtype=out.dtype) if out.size == 0 else out


def tiled_past_first_block(
    image: Any,
    flip: Any,
    factors: Any,
    order: Any,
    draws: Any,
    mean: Any,
    std: Any,
    out_h: int,
    out_w: int,
    opts: Any,
) -> Any:
    """Columns in tiles of 256: the second tile is shifted by one column."""
    inputs = (image, flip, factors, order, draws, mean, std, out_h, out_w)
    out = classification_augment_ops(*inputs, opts)
    out[..., 256:] = np.roll(out, 1, axis=3)[..., 256:]
    return out


@pytest.mark.parametrize(
    ("fn", "case", "words"),
    [
        (float32_arithmetic, "pipeline_f64", "elements differ"),
        (empty_wrong_shape, "empty_batch", "has shape (0,), expected (0, 3, 5, 7)"),
        (tiled_past_first_block, "multi_block", "first at (0, 0, 0, 256)"),
    ],
)
def test_generic_mistakes_are_caught(fn: Fn, case: str, words: str) -> None:
    v = _verdict(fn, case)
    assert v.status == "fail" and words in v.detail, v.detail


def rng_draws(shape: tuple[int, ...]) -> Any:
    return np.random.default_rng(1).random(shape)


def _good_inputs() -> list[Any]:
    rng = np.random.default_rng(0)
    return [
        rng.integers(0, 256, (2, 6, 7, 3), dtype=np.uint8),
        np.array([True, False]),
        np.ones((2, 4)) * [1.0, 1.0, 1.0, 0.0],
        np.array([[0, 1, 2, 3], [3, 2, 1, 0]]),
        rng.random((2, 10, 4)),
        np.array([0.485, 0.456, 0.406]),
        np.array([0.229, 0.224, 0.225]),
        4,
        5,
    ]


@pytest.mark.parametrize(
    ("index", "value", "error", "match"),
    [
        (0, np.zeros((2, 6, 7, 3), dtype=np.int16), TypeError, "uint8"),
        (2, np.ones((2, 4)) * [1.0, 1.0, 1.0, -0.6], ValueError, "hue"),
        (2, np.ones((2, 4)) * [1.0, -1.0, 1.0, 0.0], ValueError, "factors"),
        (3, np.array([[0, 1, 2, 2], [3, 2, 1, 0]]), ValueError, "permutation"),
        (6, np.array([0.229, 0.0, 0.225]), ValueError, "std"),
        (6, np.array([0.229, 0.224]), ValueError, "std"),
        (4, rng_draws((2, 9, 4)), ValueError, "draws"),
        (7, 7, ValueError, "out_h"),
    ],
)
def test_bad_inputs_raise(index: int, value: Any, error: type[Exception], match: str) -> None:
    inputs = _good_inputs()
    inputs[index] = value
    oracle: Fn = classification_augment_ops
    with pytest.raises(error, match=match):
        oracle(*inputs, AugmentOptions())
