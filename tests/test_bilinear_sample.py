"""Pitfalls of bilinear_sample: each deliberately wrong variant is flagged by verify.

The variants are NumPy (or torch) functions wrapped in harness Implementation records and
run on the suite's own cases (fixed seeds) through harness.verify.verify.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.verify import verify
from suites.bilinear_sample import ARGS, SUITE, SampleOptions, bilinear_sample

Fn = Callable[..., Any]


def _verdict(fn: Fn, case: str, backend: str = "numpy") -> Any:
    impl = Implementation("bilinear_sample", backend, fn.__name__, fn, arrays=backend)
    return verify(SUITE, impl, SUITE.find_case(case))


def correct(image: Any, coords: Any, opts: SampleOptions) -> Any:
    return bilinear_sample(image, coords, opts)


def test_the_oracle_as_an_implementation_passes() -> None:
    assert _verdict(correct, "zeros_f32").status == "pass"


# ---- padding and coordinate conventions ------------------------------------------------------


def zeros_as_scipy_constant(image: Any, coords: Any, opts: SampleOptions) -> Any:
    """scipy mode='constant': a sample outside [0, n − 1] is 0 outright, no interpolation
    towards 0 across the edge."""
    out = correct(image, coords, opts)
    h, w = image.shape[2:]
    y, x = coords[..., 0], coords[..., 1]
    outside = (y < 0) | (y > h - 1) | (x < 0) | (x > w - 1)
    return np.where(outside[:, None], 0, out).astype(out.dtype)


def reflection_axes_ignore_align_corners(image: Any, coords: Any, opts: SampleOptions) -> Any:
    return correct(image, coords, SampleOptions(opts.padding_mode, align_corners=False))


def reflection_axes_always_centres(image: Any, coords: Any, opts: SampleOptions) -> Any:
    return correct(image, coords, SampleOptions(opts.padding_mode, align_corners=True))


def xy_order(image: Any, coords: Any, opts: SampleOptions) -> Any:
    """grid_sample's (x, y) order fed as (row, col)."""
    return correct(image, coords[..., ::-1].copy(), opts)


def whole_sample_needs_both_rows(image: Any, coords: Any, opts: SampleOptions) -> Any:
    """Drops a sample whose i + 1 is out of range, so a sample at exactly H − 1 gives 0."""
    out = correct(image, coords, opts)
    h, w = image.shape[2:]
    last = (np.floor(coords[..., 0]) == h - 1) | (np.floor(coords[..., 1]) == w - 1)
    return np.where(last[:, None], 0, out).astype(out.dtype)


def nan_coordinate_gives_zero(image: Any, coords: Any, opts: SampleOptions) -> Any:
    return np.nan_to_num(correct(image, coords, opts), nan=0.0)


@pytest.mark.parametrize(
    ("fn", "case", "words"),
    [
        (zeros_as_scipy_constant, "zeros_f64", "elements differ"),
        (reflection_axes_ignore_align_corners, "reflection_align_f64", "elements differ"),
        (reflection_axes_always_centres, "reflection_f64", "elements differ"),
        (xy_order, "zeros_f32", "elements differ"),
        (whole_sample_needs_both_rows, "grid_points_zeros_f64", "elements differ"),
        (nan_coordinate_gives_zero, "nonfinite_coords", "numbers where the oracle has NaN"),
    ],
)
def test_convention_mistakes_are_caught(fn: Fn, case: str, words: str) -> None:
    v = _verdict(fn, case)
    assert v.status == "fail" and words in v.detail, v.detail


def grid_sample_wrong_normalisation(image: Any, coords: Any, opts: SampleOptions) -> Any:
    """Passes align_corners to grid_sample but normalises with the align_corners=False
    formula: every sample moves by up to half a pixel."""
    import torch
    import torch.nn.functional as F

    dtype = ARGS.check(image, coords)
    h, w = image.shape[2:]
    pts = coords.to(dtype)
    grid = torch.stack([(2 * pts[..., 1] + 1) / w - 1, (2 * pts[..., 0] + 1) / h - 1], dim=-1)
    mode = opts.padding_mode
    return F.grid_sample(image.to(dtype), grid, padding_mode=mode, align_corners=opts.align_corners)


def test_a_grid_sample_adapter_must_normalise_with_its_own_align_corners() -> None:
    pytest.importorskip("torch")
    assert _verdict(grid_sample_wrong_normalisation, "zeros_f32", "torch_cpu").status == "pass"
    v = _verdict(grid_sample_wrong_normalisation, "zeros_align_f32", "torch_cpu")
    assert v.status == "fail" and "elements differ" in v.detail, v.detail


def test_scipy_modes_constant_and_grid_constant_differ_near_the_edge() -> None:
    """The spec's warning, checked on scipy itself: a sample half a pixel outside."""
    ndimage = pytest.importorskip("scipy.ndimage")
    plane = np.array([[1.0, 2.0], [3.0, 4.0]])
    where = np.array([[-0.5], [0.0]])
    grid = ndimage.map_coordinates(plane, where, order=1, mode="grid-constant", cval=0.0)
    const = ndimage.map_coordinates(plane, where, order=1, mode="constant", cval=0.0)
    ours = bilinear_sample(plane[None, None], where.T[None, None], SampleOptions())
    assert grid[0] == pytest.approx(ours[0, 0, 0, 0]) and const[0] != grid[0]


# ---- the generic mistakes ----------------------------------------------------------------------


def float32_arithmetic(image: Any, coords: Any, opts: SampleOptions) -> Any:
    out = correct(image.astype(np.float32), coords.astype(np.float32), opts)
    return out.astype(np.result_type(image, coords, np.float32))


def integer_image_keeps_its_dtype(image: Any, coords: Any, opts: SampleOptions) -> Any:
    out = correct(image, coords, opts)
    return np.round(out).astype(image.dtype) if image.dtype.kind in "iu" else out


def empty_wrong_shape(image: Any, coords: Any, opts: SampleOptions) -> Any:
    out = correct(image, coords, opts)
    return np.empty((0,), dtype=out.dtype) if out.size == 0 else out


def tiled_wrong_past_first_block(image: Any, coords: Any, opts: SampleOptions) -> Any:
    """Samples in tiles of 256 along Wo; later tiles read their column one pixel late."""
    moved = coords.copy()
    moved[:, :, 256:, 1] += 1
    out = correct(image, coords, opts)
    out[..., 256:] = correct(image, moved, opts)[..., 256:]
    return out


@pytest.mark.parametrize(
    ("fn", "case", "words"),
    [
        (float32_arithmetic, "zeros_f64", "elements differ"),
        (integer_image_keeps_its_dtype, "uint8_image", "dtype uint8, expected float32"),
        (empty_wrong_shape, "empty_grid_rows", "has shape (0,), expected (3, 1, 0, 6)"),
        (empty_wrong_shape, "empty_channels", "expected (3, 0, 4, 6)"),
        (tiled_wrong_past_first_block, "multi_block", "first at (0, 0, 0, 256)"),
    ],
)
def test_generic_mistakes_are_caught(fn: Fn, case: str, words: str) -> None:
    v = _verdict(fn, case)
    assert v.status == "fail" and words in v.detail, v.detail


@pytest.mark.parametrize("values", [{"padding_mode": "wrap"}, {"padding_mode": "constant"}])
def test_unknown_padding_modes_raise(values: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="padding_mode"):
        SampleOptions.build(values)
