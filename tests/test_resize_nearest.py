"""Pitfalls of resize_nearest: each deliberately wrong variant is flagged by verify.

The variants are NumPy functions wrapped in harness Implementation records and run on the
suite's own cases (fixed seeds) through harness.verify.verify. ``_gather`` picks rows and
columns with an index rule; every wrong variant swaps in one wrong rule or one mistake.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.verify import verify
from suites.resize_bilinear import check_resize
from suites.resize_nearest import SUITE, NearestOptions, boundary_hits, resize_nearest

Fn = Callable[..., Any]
Rule = Callable[[int, int, str], np.ndarray]


def _verdict(fn: Fn, case: str) -> Any:
    return verify(SUITE, Implementation("resize_nearest", "numpy", fn.__name__, fn),
                  SUITE.find_case(case))  # fmt: skip


def exact_floor(n_in: int, n_out: int, mode: str) -> np.ndarray:
    d = np.arange(n_out)
    src = d * n_in // n_out if mode == "legacy" else (2 * d + 1) * n_in // (2 * n_out)
    return np.minimum(src, n_in - 1)


def _gather(image: Any, out_h: int, out_w: int, opts: NearestOptions, rule: Rule) -> Any:
    check_resize(image, out_h, out_w)
    h, w = image.shape[2:]
    rows = rule(h, out_h, opts.nearest_mode)
    cols = rule(w, out_w, opts.nearest_mode)
    return image[:, :, rows][:, :, :, cols]


def correct(image: Any, out_h: int, out_w: int, opts: NearestOptions) -> Any:
    return _gather(image, out_h, out_w, opts, exact_floor)


@pytest.mark.parametrize(
    "case",
    ["down_f32", "integer_down_2x_exact", "legacy_boundary", "exact_boundary", "multi_block",
     "identity_f32", "empty_batch", "nonfinite_f64"],
)  # fmt: skip
def test_the_plain_reimplementation_passes(case: str) -> None:
    assert _verdict(correct, case).status == "pass"


# ---- index rules: the convention split and the classic mistakes -----------------------------


def legacy_always(image: Any, out_h: int, out_w: int, opts: NearestOptions) -> Any:
    return _gather(image, out_h, out_w, opts, lambda i, o, m: exact_floor(i, o, "legacy"))


def exact_always(image: Any, out_h: int, out_w: int, opts: NearestOptions) -> Any:
    return _gather(image, out_h, out_w, opts, lambda i, o, m: exact_floor(i, o, "exact"))


def rounds_instead_of_floor(image: Any, out_h: int, out_w: int, opts: NearestOptions) -> Any:
    def rule(n_in: int, n_out: int, mode: str) -> np.ndarray:
        src = np.round(np.arange(n_out) * n_in / n_out).astype(np.int64)
        return np.minimum(src, n_in - 1)

    return _gather(image, out_h, out_w, opts, rule)


def align_corners_rounding(image: Any, out_h: int, out_w: int, opts: NearestOptions) -> Any:
    """TF1's align_corners nearest: round(dst·(in − 1)/(out − 1))."""

    def rule(n_in: int, n_out: int, mode: str) -> np.ndarray:
        scale = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        return np.round(np.arange(n_out) * scale).astype(np.int64)

    return _gather(image, out_h, out_w, opts, rule)


def float32_scale(image: Any, out_h: int, out_w: int, opts: NearestOptions) -> Any:
    """torch's CPU index arithmetic: floorf(dst * float32(in / out))."""

    def rule(n_in: int, n_out: int, mode: str) -> np.ndarray:
        scale = np.float32(n_in) / np.float32(n_out)
        d = np.arange(n_out, dtype=np.float32)
        d = d if mode == "legacy" else d + np.float32(0.5)
        src: np.ndarray = np.minimum(np.floor(d * scale).astype(np.int64), n_in - 1)
        return src

    return _gather(image, out_h, out_w, opts, rule)


@pytest.mark.parametrize(
    ("fn", "case"),
    [
        (exact_always, "integer_down_2x"),  # legacy takes the even pixels, exact the odd
        (exact_always, "down_f32"),
        (legacy_always, "integer_down_2x_exact"),
        (legacy_always, "up_exact_f32"),
        (rounds_instead_of_floor, "down_f32"),
        (rounds_instead_of_floor, "non_integer_down_1_5x"),
        (align_corners_rounding, "up_f32"),
        (float32_scale, "legacy_boundary"),
    ],
)
def test_index_rule_mistakes_are_caught(fn: Fn, case: str) -> None:
    v = _verdict(fn, case)
    assert v.status == "fail" and "elements differ" in v.detail, v.detail


def test_the_rules_agree_on_integer_upscaling_only() -> None:
    """The spec's fact, on the oracle: 3x up is the same image both ways, 2x down is not."""
    image = np.arange(2 * 7 * 9, dtype=np.float64).reshape(1, 2, 7, 9)
    legacy, exact = NearestOptions(), NearestOptions(nearest_mode="exact")
    np.testing.assert_array_equal(
        resize_nearest(image, 21, 27, legacy), resize_nearest(image, 21, 27, exact)
    )
    assert not np.array_equal(
        resize_nearest(image, 3, 4, legacy), resize_nearest(image, 3, 4, exact)
    )


def test_float32_index_arithmetic_passes_away_from_boundaries() -> None:
    """The boundary cases are what tells torch's float32 scale from exact floors: on
    coprime sizes the same variant passes, so the boundary case is the one that matters."""
    assert _verdict(float32_scale, "down_f32").status == "pass"
    inputs = {"image": np.zeros((1, 1, 37, 53)), "out_h": 23, "out_w": 31}
    assert not boundary_hits(inputs)
    assert boundary_hits({**inputs, "image": np.zeros((1, 1, 26, 14)), "out_h": 22, "out_w": 18})


# ---- the generic mistakes -----------------------------------------------------------------------


def float32_values(image: Any, out_h: int, out_w: int, opts: NearestOptions) -> Any:
    return correct(image.astype(np.float32), out_h, out_w, opts).astype(image.dtype)


def uint8_returns_float(image: Any, out_h: int, out_w: int, opts: NearestOptions) -> Any:
    return correct(image, out_h, out_w, opts).astype(np.float64)


def nan_to_zero(image: Any, out_h: int, out_w: int, opts: NearestOptions) -> Any:
    return np.nan_to_num(correct(image, out_h, out_w, opts), nan=0.0)


def swapped_sizes(image: Any, out_h: int, out_w: int, opts: NearestOptions) -> Any:
    return correct(image, out_w, out_h, opts)


def empty_wrong_shape(image: Any, out_h: int, out_w: int, opts: NearestOptions) -> Any:
    if image.size == 0:
        return np.empty((0,), dtype=image.dtype)
    return correct(image, out_h, out_w, opts)


def identity_returns_input(image: Any, out_h: int, out_w: int, opts: NearestOptions) -> Any:
    return image if image.shape[2:] == (out_h, out_w) else correct(image, out_h, out_w, opts)


def tiled_wrong_past_first_block(image: Any, out_h: int, out_w: int, opts: NearestOptions) -> Any:
    """Columns in tiles of 256; later tiles restart their index rule one column late."""

    def rule(n_in: int, n_out: int, mode: str) -> np.ndarray:
        idx = exact_floor(n_in, n_out, mode)
        if n_out > 256:
            idx[256:] = np.minimum(idx[256:] + 1, n_in - 1)
        return idx

    return _gather(image, out_h, out_w, opts, rule)


@pytest.mark.parametrize(
    ("fn", "case", "words"),
    [
        (float32_values, "mixed_f64", "elements differ"),
        (uint8_returns_float, "integer_down_2x", "dtype float64, expected uint8"),
        (nan_to_zero, "nonfinite_f64", "numbers where the oracle has NaN"),
        (swapped_sizes, "down_f32", "has shape (2, 3, 31, 23), expected (2, 3, 23, 31)"),
        (empty_wrong_shape, "empty_batch", "has shape (0,), expected (0, 3, 9, 11)"),
        (identity_returns_input, "identity_f32", "an output must be a new array"),
        (tiled_wrong_past_first_block, "multi_block", "first at (0, 0, 0, 256)"),
    ],
)
def test_generic_mistakes_are_caught(fn: Fn, case: str, words: str) -> None:
    v = _verdict(fn, case)
    assert v.status == "fail" and words in v.detail, v.detail


@pytest.mark.parametrize("values", [{"nearest_mode": "round"}, {"nearest_mode": True}])
def test_unknown_modes_raise(values: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="nearest_mode"):
        NearestOptions.build(values)
