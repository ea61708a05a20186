"""Pitfalls of image_rotation: each deliberately wrong variant is flagged by verify.

The variants are NumPy functions wrapped in harness Implementation records and run on the
suite's own cases (fixed seeds) through harness.verify.verify. Most of them change one
thing in the suite's geometry (the direction, the centre, the canvas) or in the sampler
(the padding rule, the rounding) and reuse the rest.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.spec import Case
from harness.verify import verify
from suites.bilinear_sample import SampleOptions, bilinear_sample
from suites.image_rotation import (
    ARGS,
    SUITE,
    RotationOptions,
    geometry,
    image_rotation,
    nearest_gather,
    source_grid,
)

Fn = Callable[..., Any]


def _verdict(fn: Fn, case: str) -> Any:
    impl = Implementation("image_rotation", "numpy", fn.__name__, fn)
    return verify(SUITE, impl, SUITE.find_case(case))


def correct(image: Any, angle: float, opts: RotationOptions) -> Any:
    return image_rotation(image, angle, opts)


def _sample(image: Any, ys: Any, xs: Any, opts: RotationOptions, padding: str = "zeros") -> Any:
    """The oracle's samplers on a given grid (bilinear_sample's padding modes)."""
    img = np.asarray(image, dtype=np.float64)
    if opts.interpolation == "nearest":
        out = nearest_gather(img, ys, xs)
    else:
        coords = np.broadcast_to(np.stack([ys, xs], -1), (img.shape[0], *ys.shape, 2))
        out = bilinear_sample(img, coords, SampleOptions(padding_mode=padding))
    return out.astype(image.dtype)


@pytest.mark.parametrize(
    "case", ["rotate_30_f32", "nearest_f32", "expand_floor_ceil_f64", "angle_90_square",
             "multi_block", "empty_batch"],
)  # fmt: skip
def test_the_oracle_as_an_implementation_passes(case: str) -> None:
    assert _verdict(correct, case).status == "pass"


# ---- geometry: direction, units, centre, canvas --------------------------------------------


def clockwise(image: Any, angle: float, opts: RotationOptions) -> Any:
    """The forward map used as the inverse one: rotates the other way."""
    return correct(image, -angle, opts)


def radians(image: Any, angle: float, opts: RotationOptions) -> Any:
    return correct(image, math.radians(angle), opts)


def centre_ignored(image: Any, angle: float, opts: RotationOptions) -> Any:
    return correct(image, angle, RotationOptions(opts.interpolation, "pixel_centre", opts.expand))


def centre_half_size_always(image: Any, angle: float, opts: RotationOptions) -> Any:
    """W/2 as the centre with pixel centres at integers: off by half a pixel."""
    return correct(image, angle, RotationOptions(opts.interpolation, "half_size", opts.expand))


def expand_rounds_like_scipy(image: Any, angle: float, opts: RotationOptions) -> Any:
    expand = "round" if opts.expand == "floor_ceil" else opts.expand
    return correct(image, angle, RotationOptions(opts.interpolation, opts.centre, expand))


def expand_ignored(image: Any, angle: float, opts: RotationOptions) -> Any:
    return correct(image, angle, RotationOptions(opts.interpolation, opts.centre))


def float_trig_without_the_cut(image: Any, angle: float, opts: RotationOptions) -> Any:
    """cos(radians(90)) = 6e-17 and a plain ceil: the 90° canvas grows by one pixel."""
    ARGS.check(image, angle)
    h, w = image.shape[2:]
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    px, py = (w - 1) / 2, (h - 1) / 2
    corners = [(-0.5, -0.5), (w - 0.5, -0.5), (-0.5, h - 0.5), (w - 0.5, h - 0.5)]
    xs = [c * (x - px) + s * (y - py) + px + 0.5 for x, y in corners]
    ys = [-s * (x - px) + c * (y - py) + py + 0.5 for x, y in corners]
    ox, oy = math.floor(min(xs)), math.floor(min(ys))
    ow, oh = math.ceil(max(xs)) - ox, math.ceil(max(ys)) - oy
    r, q = np.mgrid[0:oh, 0:ow].astype(np.float64)
    dx, dy = q + ox - px, r + oy - py
    return _sample(image, s * dx + c * dy + py, c * dx - s * dy + px, opts)


def rot90_for_right_angles(image: Any, angle: float, opts: RotationOptions) -> Any:
    """np.rot90 for multiples of 90°: a transpose, right only when H and W share parity."""
    if angle % 90 == 0 and opts.expand != "none":
        return np.ascontiguousarray(np.rot90(image, int(angle // 90) % 4, axes=(2, 3)))
    return correct(image, angle, opts)


@pytest.mark.parametrize(
    ("fn", "case", "words"),
    [
        (clockwise, "rotate_30_f32", "elements differ"),
        (clockwise, "angle_90_square", "elements differ"),
        (radians, "rotate_30_f64", "elements differ"),
        (centre_ignored, "half_size_f64", "elements differ"),
        (centre_half_size_always, "rotate_30_f32", "elements differ"),
        (expand_rounds_like_scipy, "expand_floor_ceil_f64", "shape"),
        (expand_ignored, "expand_floor_ceil_f32", "shape"),
        (float_trig_without_the_cut, "angle_270_expand", "shape"),
        (rot90_for_right_angles, "angle_90_mixed_parity_expand", "shape"),
    ],
)
def test_geometry_mistakes_are_caught(fn: Fn, case: str, words: str) -> None:
    v = _verdict(fn, case)
    assert v.status == "fail" and words in v.detail, v.detail


def test_right_angle_shortcuts_pass_where_they_are_exact() -> None:
    """The same shortcuts are right on their home ground (so the failures above are about
    the rule, not the variants): rot90 on same-parity sizes, float trig off the 90° grid."""
    assert _verdict(rot90_for_right_angles, "angle_90_odd_expand").status == "pass"
    assert _verdict(float_trig_without_the_cut, "expand_floor_ceil_f64").status == "pass"


# ---- sampling: padding and rounding --------------------------------------------------------


def _with_sampler(padding: str, rounding: Callable[[Any], Any] | None = None) -> Fn:
    def fn(image: Any, angle: float, opts: RotationOptions) -> Any:
        h, w = image.shape[2:]
        ys, xs = source_grid(h, w, angle, opts)
        if rounding is not None and opts.interpolation == "nearest":
            ys, xs = rounding(ys), rounding(xs)
        return _sample(image, ys, xs, opts, padding)

    return fn


def scipy_constant_fill(image: Any, angle: float, opts: RotationOptions) -> Any:
    """scipy mode='constant': a sample past the edge pixels is 0 outright."""
    out = correct(image, angle, opts)
    h, w = image.shape[2:]
    ys, xs = source_grid(h, w, angle, opts)
    outside = (ys < 0) | (ys > h - 1) | (xs < 0) | (xs > w - 1)
    return np.where(outside, 0, out).astype(out.dtype)


def torchvision_fill_mask(image: Any, angle: float, opts: RotationOptions) -> Any:
    """torchvision with fill=[0] (RandomRotation's default): also samples a ones channel
    and returns img·mask, so edge pixels are weighted twice."""
    out = correct(image, angle, opts)
    mask = correct(np.ones_like(image[:, :1]), angle, opts)
    return (out * mask).astype(out.dtype)


@pytest.mark.parametrize(
    ("fn", "case"),
    [
        (_with_sampler("border"), "rotate_30_f32"),
        (_with_sampler("zeros", np.floor), "nearest_f32"),  # truncation, not rounding
        (_with_sampler("zeros", lambda t: np.floor(t) + 1), "nearest_f64"),
        (scipy_constant_fill, "rotate_30_f64"),
        (torchvision_fill_mask, "rotate_30_f64"),
    ],
)
def test_sampling_mistakes_are_caught(fn: Fn, case: str) -> None:
    v = _verdict(fn, case)
    assert v.status == "fail" and "elements differ" in v.detail, v.detail


def test_nearest_ties_may_take_either_pixel() -> None:
    """A 90° turn of a 13x8 image samples at half-integers: round half up (scipy order=0)
    and half to even (grid_sample) disagree there, and both pass; a sampler ignoring the
    tie rule by a whole pixel does not (truncation happens to be a tie choice here)."""
    case = SUITE.find_case("angle_90_mixed_parity_expand")
    assert isinstance(case, Case)
    _, xs = source_grid(8, 13, 90.0, RotationOptions(expand="floor_ceil"))
    assert np.any(np.abs(xs - np.floor(xs) - 0.5) < 1e-12)  # real ties

    def half_up(image: Any, angle: float, opts: RotationOptions) -> Any:
        nearest = RotationOptions("nearest", opts.centre, opts.expand)
        h, w = image.shape[2:]
        ys, xs = source_grid(h, w, angle, nearest)
        return _sample(image, np.floor(ys + 0.5), np.floor(xs + 0.5), nearest)

    nearest_case = Case(case.name, case.params, {**case.options, "interpolation": "nearest"})
    impl = Implementation("image_rotation", "numpy", "half_up", half_up)
    assert verify(SUITE, impl, nearest_case).status == "pass"
    assert not np.array_equal(
        half_up(np.arange(104.0).reshape(1, 1, 8, 13), 90.0, RotationOptions(expand="floor_ceil")),
        correct(
            np.arange(104.0).reshape(1, 1, 8, 13),
            90.0,
            RotationOptions("nearest", expand="floor_ceil"),
        ),
    )
    one_off = _with_sampler("zeros", lambda t: np.floor(t) - 1)
    wrong = Implementation("image_rotation", "numpy", "one_off", one_off)
    assert verify(SUITE, wrong, nearest_case).status == "fail"


# ---- the generic mistakes ------------------------------------------------------------------


def float32_arithmetic(image: Any, angle: float, opts: RotationOptions) -> Any:
    return correct(image.astype(np.float32), angle, opts).astype(image.dtype)


def empty_wrong_shape(image: Any, angle: float, opts: RotationOptions) -> Any:
    out = correct(image, angle, opts)
    return np.empty((0,), dtype=out.dtype) if out.size == 0 else out


def zero_angle_returns_the_input(image: Any, angle: float, opts: RotationOptions) -> Any:
    return image if angle % 360 == 0 and opts.expand == "none" else correct(image, angle, opts)


def tiled_wrong_past_first_block(image: Any, angle: float, opts: RotationOptions) -> Any:
    """Output columns in tiles of 256; later tiles start their source one pixel late."""
    out = correct(image, angle, opts)
    h, w = image.shape[2:]
    ys, xs = source_grid(h, w, angle, opts)
    out[..., 256:] = _sample(image, ys, xs + 1.0, opts)[..., 256:]
    return out


@pytest.mark.parametrize(
    ("fn", "case", "words"),
    [
        (float32_arithmetic, "rotate_30_f64", "elements differ"),
        (empty_wrong_shape, "empty_channels", "has shape (0,), expected (2, 0, 5, 7)"),
        (empty_wrong_shape, "empty_batch", "expected (0, 3, 5, 7)"),
        (zero_angle_returns_the_input, "angle_0", "shares memory"),
        (tiled_wrong_past_first_block, "multi_block", "first at (0, 0, 0, 256)"),
    ],
)
def test_generic_mistakes_are_caught(fn: Fn, case: str, words: str) -> None:
    v = _verdict(fn, case)
    assert v.status == "fail" and words in v.detail, v.detail


# ---- facts the suite relies on ----------------------------------------------------------------


def test_right_angles_are_exact_permutations_on_same_parity_sizes() -> None:
    img = np.random.default_rng(3).random((1, 2, 9, 13))
    expand = RotationOptions(expand="floor_ceil")
    for k, angle in enumerate((90.0, 180.0, 270.0, -90.0, 450.0)):
        want = np.rot90(img, (1, 2, 3, -1, 1)[k], axes=(2, 3))
        np.testing.assert_array_equal(image_rotation(img, angle, expand), want)
    np.testing.assert_array_equal(image_rotation(img, 360.0, RotationOptions()), img)


def test_expand_canvases_follow_their_pinned_rules() -> None:
    """floor_ceil keeps each axis' parity (torchvision), round takes the nearest size."""
    fc, rd = RotationOptions(expand="floor_ceil"), RotationOptions(expand="round")
    assert geometry(8, 13, 90.0, fc)[:2] == (14, 9)
    assert geometry(8, 13, 90.0, rd)[:2] == (13, 8)
    assert geometry(19, 28, 30.0, fc)[:2] == (31, 34)
    assert geometry(19, 28, 30.0, rd)[:2] == (30, 34)


def test_scipy_rotate_agrees_with_the_round_canvas() -> None:
    ndimage = pytest.importorskip("scipy.ndimage")
    img = np.random.default_rng(5).random((19, 28))
    for angle, expand in ((30.0, "round"), (-250.0, "none")):
        want = ndimage.rotate(img, angle, reshape=expand == "round", order=1, mode="grid-constant")
        got = image_rotation(img[None, None], angle, RotationOptions(expand=expand))[0, 0]
        np.testing.assert_allclose(got, want, atol=1e-12)


@pytest.mark.parametrize("values", [{"interpolation": "bicubic"}, {"expand": True}])
def test_unknown_options_raise(values: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RotationOptions.build(values)


@pytest.mark.parametrize("angle", [math.inf, -math.inf, math.nan])
def test_non_finite_angles_raise(angle: float) -> None:
    with pytest.raises(ValueError, match="angle"):
        image_rotation(np.zeros((1, 1, 3, 4)), angle, RotationOptions())
