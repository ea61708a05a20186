"""Pitfalls of resize_bilinear: each deliberately wrong variant is flagged by verify.

The variants are NumPy functions wrapped in harness Implementation records and run on the
suite's own cases (fixed seeds) through harness.verify.verify. ``correct`` is a plain
float64 reimplementation with knobs; every wrong variant turns one knob.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.verify import case_inputs, verify
from suites.resize_bilinear import SUITE, ResizeOptions, check_resize, resize_bilinear

Fn = Callable[..., Any]


def _impl(fn: Fn, backend: str = "numpy") -> Implementation:
    return Implementation("resize_bilinear", backend, fn.__name__, fn)


def _verdict(fn: Fn, case: str, backend: str = "numpy") -> Any:
    return verify(SUITE, _impl(fn, backend), SUITE.find_case(case))


def _coords(n_in: int, n_out: int, mapping: str) -> np.ndarray:
    d = np.arange(n_out, dtype=np.float64)
    if mapping == "align":
        return d * (n_in - 1) / (n_out - 1) if n_out > 1 else np.zeros(n_out)
    if mapping == "asym":
        return d * n_in / n_out
    if mapping == "align_nan":  # out = 1 divides 0 by 0
        with np.errstate(invalid="ignore", divide="ignore"):
            return d * (n_in - 1) / np.float64(n_out - 1)
    return (d + 0.5) * n_in / n_out - 0.5


def _lerp_axis(x: np.ndarray, src: np.ndarray, axis: int, clamp: bool) -> np.ndarray:
    n_in = x.shape[axis]
    s = np.maximum(src, 0.0) if clamp else src
    with np.errstate(invalid="ignore"):
        i0 = np.clip(np.floor(np.nan_to_num(s)).astype(np.int64), 0, n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    t = np.where(i0 >= n_in - 1, 0.0, s - i0)
    shape = [1] * x.ndim
    shape[axis] = -1
    t = t.reshape(shape)
    out: np.ndarray = np.take(x, i0, axis=axis) * (1 - t) + np.take(x, i1, axis=axis) * t
    return out


def _bilinear(
    image: Any,
    oh: int,
    ow: int,
    opts: ResizeOptions,
    *,
    map_y: str | None = None,
    map_x: str | None = None,
    clamp: bool = True,
    work: Any = np.float64,
    rounding: Callable[[np.ndarray], np.ndarray] = lambda v: np.floor(v + 0.5),
    out_dtype: Any = None,
) -> Any:
    dtype = check_resize(image, oh, ow)
    mapping = "align" if opts.align_corners else "asym" if opts.asymmetric else "half"
    if opts.antialias:  # the suite's oracle stands in for the filter; knobs test mappings
        return resize_bilinear(image, oh, ow, opts)
    x = np.asarray(image).astype(work)
    h, w = x.shape[2:]
    rows = _lerp_axis(x, _coords(h, oh, map_y or mapping).astype(work), 2, clamp)
    out = _lerp_axis(rows, _coords(w, ow, map_x or mapping).astype(work), 3, clamp)
    if dtype == np.uint8:
        out = np.clip(rounding(out), 0, 255)
    return out.astype(out_dtype or dtype)


def correct(image: Any, out_h: int, out_w: int, opts: ResizeOptions) -> Any:
    return _bilinear(image, out_h, out_w, opts)


# ---- the baseline passes where the variants are judged -------------------------------------

BASELINE_CASES = [
    "down_f32",
    "mixed_f64",
    "align_corners_f64",
    "asymmetric_f64",
    "up_f32",
    "uint8_up2x",
    "one_pixel_out_align",
    "identity_f32",
    "empty_batch",
    "multi_block",
]


@pytest.mark.parametrize("case", BASELINE_CASES)
def test_the_plain_reimplementation_passes(case: str) -> None:
    assert _verdict(correct, case).status == "pass"


# ---- mapping conventions ----------------------------------------------------------------------


def align_corners_rows_only(image: Any, out_h: int, out_w: int, opts: ResizeOptions) -> Any:
    half = "half" if not opts.asymmetric else "asym"
    return _bilinear(image, out_h, out_w, opts, map_x=half if opts.align_corners else None)


def asymmetric_always(image: Any, out_h: int, out_w: int, opts: ResizeOptions) -> Any:
    return _bilinear(image, out_h, out_w, opts, map_y="asym", map_x="asym")


def half_pixel_always(image: Any, out_h: int, out_w: int, opts: ResizeOptions) -> Any:
    return _bilinear(image, out_h, out_w, opts, map_y="half", map_x="half")


def no_clamp_below_zero(image: Any, out_h: int, out_w: int, opts: ResizeOptions) -> Any:
    return _bilinear(image, out_h, out_w, opts, clamp=False)


def align_corners_divides_by_zero(image: Any, out_h: int, out_w: int, opts: ResizeOptions) -> Any:
    if not opts.align_corners:
        return correct(image, out_h, out_w, opts)
    return _bilinear(image, out_h, out_w, opts, map_y="align_nan", map_x="align_nan")


@pytest.mark.parametrize(
    ("fn", "case", "words"),
    [
        (align_corners_rows_only, "align_corners_f64", "elements differ"),
        (asymmetric_always, "down_f32", "elements differ"),
        (asymmetric_always, "mixed_f64", "elements differ"),
        (half_pixel_always, "asymmetric_5_to_3", "elements differ"),
        (half_pixel_always, "align_corners_down_f32", "elements differ"),
        (no_clamp_below_zero, "up_f32", "elements differ"),
        (align_corners_divides_by_zero, "one_pixel_out_align", "NaN where the oracle has"),
    ],
)
def test_mapping_mistakes_are_caught(fn: Fn, case: str, words: str) -> None:
    v = _verdict(fn, case)
    assert v.status == "fail" and words in v.detail, v.detail


def test_the_spec_example_5_to_3() -> None:
    """5x5 -> 3x3 of a ramp: the asymmetric mapping reads output centre 1 at 5/3, the
    half-pixel mapping at the true centre 2."""
    ramp = np.tile(np.arange(5.0), (1, 1, 5, 1))
    half = resize_bilinear(ramp, 3, 3, ResizeOptions())
    asym = resize_bilinear(ramp, 3, 3, ResizeOptions(asymmetric=True))
    assert half[0, 0, 1, 1] == pytest.approx(2.0, abs=1e-15)
    assert asym[0, 0, 1, 1] == pytest.approx(5.0 / 3.0, abs=1e-15)


# ---- uint8 rounding, dtype, and the libraries' own integer pipelines ----------------------


def uint8_truncates(image: Any, out_h: int, out_w: int, opts: ResizeOptions) -> Any:
    return _bilinear(image, out_h, out_w, opts, rounding=np.floor)


def uint8_rounds_half_to_even(image: Any, out_h: int, out_w: int, opts: ResizeOptions) -> Any:
    return _bilinear(image, out_h, out_w, opts, rounding=np.round)


def uint8_returns_float(image: Any, out_h: int, out_w: int, opts: ResizeOptions) -> Any:
    return _bilinear(image, out_h, out_w, opts, out_dtype=np.float64)


def uint8_off_by_two(image: Any, out_h: int, out_w: int, opts: ResizeOptions) -> Any:
    out = correct(image, out_h, out_w, opts)
    return np.where(out < 250, out + 2, out).astype(np.uint8)


@pytest.mark.parametrize(
    ("fn", "case", "words"),
    [
        (uint8_truncates, "uint8_up2x", "elements differ"),
        (uint8_rounds_half_to_even, "uint8_up2x", "elements differ"),
        (uint8_returns_float, "uint8_up2x", "dtype float64, expected uint8"),
        (uint8_off_by_two, "uint8_fixed_point", "elements differ"),
        (asymmetric_always, "uint8_fixed_point", "elements differ"),
    ],
)
def test_uint8_mistakes_are_caught(fn: Fn, case: str, words: str) -> None:
    """Truncation and banker's rounding differ from round-half-up only at fractions and
    exact .5 ties (a 2x upscale has many); the 1-grey-level allowance of 'fixed_point' still
    catches an offset of 2 and a wrong mapping."""
    v = _verdict(fn, case)
    assert v.status == "fail" and words in v.detail, v.detail


def torch_native_uint8(image: Any, out_h: int, out_w: int, opts: ResizeOptions) -> Any:
    import torch
    import torch.nn.functional as F

    check_resize(image, out_h, out_w)
    return F.interpolate(torch.from_numpy(np.ascontiguousarray(image)), size=(out_h, out_w),
                         mode="bilinear", align_corners=False).numpy()  # fmt: skip


def cv2_native_uint8(image: Any, out_h: int, out_w: int, opts: ResizeOptions) -> Any:
    import cv2

    check_resize(image, out_h, out_w)
    c = image.shape[1]
    out = [
        cv2.resize(np.ascontiguousarray(im.transpose(1, 2, 0)), (out_w, out_h),
                   interpolation=cv2.INTER_LINEAR).reshape(out_h, out_w, c).transpose(2, 0, 1)
        for im in image
    ]  # fmt: skip
    return np.stack(out)


@pytest.mark.parametrize("fn", [torch_native_uint8, cv2_native_uint8])
def test_library_integer_pipelines_follow_their_own_option(fn: Fn) -> None:
    """torch's two rounded passes and OpenCV's 11-bit weights are not float-then-round: each
    fails the exact uint8 convention and passes 'fixed_point' (what their adapters claim)."""
    pytest.importorskip("cv2" if fn is cv2_native_uint8 else "torch")
    exact = _verdict(fn, "uint8_up2x")
    assert exact.status == "fail" and "elements differ" in exact.detail, exact.detail
    assert _verdict(fn, "uint8_fixed_point").status == "pass"


def test_opencv_two_channel_float64_path_is_not_float64_exact() -> None:
    """OpenCV 5 resizes 2-channel (and > 4-channel) float64 images with float32
    coefficients: the cv2 adapter feeds it 4, 3 or 1 channels at a time."""
    cv2 = pytest.importorskip("cv2")
    inputs = case_inputs(SUITE, SUITE.find_case("mixed_f64"))  # type: ignore[arg-type]
    image = inputs["image"][0, :2].transpose(1, 2, 0).copy()
    got = cv2.resize(image, (22, 43), interpolation=cv2.INTER_LINEAR).transpose(2, 0, 1)
    want = resize_bilinear(inputs["image"][:1, :2], 43, 22, ResizeOptions())[0]
    assert np.abs(got - want).max() > 1e-9  # far above the float64 tolerance of 1e-10


# ---- antialias -----------------------------------------------------------------------------------


def antialias_ignored(image: Any, out_h: int, out_w: int, opts: ResizeOptions) -> Any:
    return correct(image, out_h, out_w, ResizeOptions(uint8_arithmetic=opts.uint8_arithmetic))


def antialias_as_area(image: Any, out_h: int, out_w: int, opts: ResizeOptions) -> Any:
    import cv2

    dtype = check_resize(image, out_h, out_w)
    if not opts.antialias:
        return correct(image, out_h, out_w, opts)
    out = [
        cv2.resize(np.ascontiguousarray(p.astype(np.float64)), (out_w, out_h),
                   interpolation=cv2.INTER_AREA)
        for p in image.reshape(-1, *image.shape[2:])
    ]  # fmt: skip
    return np.stack(out).reshape(*image.shape[:2], out_h, out_w).astype(dtype)


@pytest.mark.parametrize(
    ("fn", "case"),
    [
        (antialias_ignored, "antialias_down_f64"),
        (antialias_ignored, "extreme_down_antialias"),
        (antialias_as_area, "antialias_down_f64"),
    ],
)
def test_antialias_mistakes_are_caught(fn: Fn, case: str) -> None:
    if fn is antialias_as_area:
        pytest.importorskip("cv2")
    v = _verdict(fn, case)
    assert v.status == "fail" and "elements differ" in v.detail, v.detail


def test_antialias_on_upscale_is_plain_bilinear() -> None:
    inputs = case_inputs(SUITE, SUITE.find_case("antialias_up_f32"))  # type: ignore[arg-type]
    image = inputs["image"].astype(np.float64)
    aa = resize_bilinear(image, 20, 27, ResizeOptions(antialias=True))
    plain = resize_bilinear(image, 20, 27, ResizeOptions())
    np.testing.assert_allclose(aa, plain, rtol=0, atol=1e-14)


# ---- the generic mistakes: precision, shapes, aliasing, blocks -----------------------------------


def float32_arithmetic(image: Any, out_h: int, out_w: int, opts: ResizeOptions) -> Any:
    return _bilinear(image, out_h, out_w, opts, work=np.float32)


def swapped_sizes(image: Any, out_h: int, out_w: int, opts: ResizeOptions) -> Any:
    return correct(image, out_w, out_h, opts)  # cv2.resize's dsize is (width, height)


def empty_wrong_shape(image: Any, out_h: int, out_w: int, opts: ResizeOptions) -> Any:
    if image.shape[0] * image.shape[1] == 0:
        return np.empty((image.shape[0], image.shape[1], 0, 0), dtype=image.dtype)
    return correct(image, out_h, out_w, opts)


def identity_returns_input(image: Any, out_h: int, out_w: int, opts: ResizeOptions) -> Any:
    if image.shape[2:] == (out_h, out_w):
        return image
    return correct(image, out_h, out_w, opts)


def tiled_wrong_past_first_block(image: Any, out_h: int, out_w: int, opts: ResizeOptions) -> Any:
    """Output columns in tiles of 256; later tiles read their source one column late."""
    out = correct(image, out_h, out_w, opts)
    if out_w > 256:
        shifted = np.concatenate([image[..., 1:], image[..., -1:]], axis=3)
        out[..., 256:] = correct(shifted, out_h, out_w, opts)[..., 256:]
    return out


@pytest.mark.parametrize(
    ("fn", "case", "words"),
    [
        (float32_arithmetic, "mixed_f64", "elements differ"),
        (swapped_sizes, "down_f32", "has shape (2, 3, 31, 23), expected (2, 3, 23, 31)"),
        (empty_wrong_shape, "empty_batch", "has shape (0, 3, 0, 0), expected (0, 3, 9, 11)"),
        (empty_wrong_shape, "empty_channels", "expected (2, 0, 9, 11)"),
        (identity_returns_input, "identity_f32", "an output must be a new array"),
        (tiled_wrong_past_first_block, "multi_block", "elements differ"),
    ],
)
def test_generic_mistakes_are_caught(fn: Fn, case: str, words: str) -> None:
    v = _verdict(fn, case)
    assert v.status == "fail" and words in v.detail, v.detail
    if fn is tiled_wrong_past_first_block:
        assert "first at (0, 0, 0, 256)" in v.detail  # right up to the tile edge


# ---- options: refused conventions ------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {"mode": "bicubic"},
        {"align_corners": "yes"},
        {"uint8_arithmetic": "truncate"},
        {"align_corners": True, "asymmetric": True},
        {"antialias": True, "align_corners": True},
    ],
)
def test_unknown_or_conflicting_conventions_raise(values: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ResizeOptions.build(values)


def test_a_library_refuses_what_it_does_not_implement() -> None:
    """The cv2 adapter registers supports= without align_corners=True: the refusal is a
    skip with the reason, not a silent half-pixel answer."""
    from harness.registry import load_registry

    cv2_impl = next(i for i in load_registry().select() if i.key == "resize_bilinear/library/cv2")
    v = verify(SUITE, cv2_impl, SUITE.find_case("align_corners_f64"))
    assert v.status == "skip" and "unsupported convention align_corners=True" in v.detail
