"""roi_pool: each convention split and classic mistake of RoIPool is caught by the suite with a
diagnosis that says what differs; a correct per-bin implementation passes. Also the
specification's own examples of the quantisation rules, checked by hand."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.verify import Verdict, verify
from suites.roi_pool import FLT_MAX, SUITE, RoiPoolOptions, check_rois, roi_pool

Fn = Callable[..., Any]


def _round(v: float, mistake: str) -> int:
    if mistake == "np_round":  # halves to even
        return int(np.round(v))
    if mistake == "floor_half":  # floor(v + 0.5): wrong for negative halves
        return math.floor(v + 0.5)
    if mistake == "truncate":
        return int(v)
    return int(math.copysign(math.floor(abs(v) + 0.5), v))


def _edges(
    start: int, cells: int, pooled: int, size: int, rule: str, mistake: str, dtype: Any = None
) -> Any:
    out = []
    t = np.dtype(dtype or np.float64).type
    for p in range(pooled):
        if rule == "floor_bins":
            lo, hi = p * (cells // pooled), (p + 1) * (cells // pooled)
        elif rule == "floor_ceil_exact":
            lo, hi = (p * cells) // pooled, -((-(p + 1) * cells) // pooled)
        else:
            b = t(cells) / t(pooled)
            lo, hi = int(np.floor(t(p) * b)), int(np.ceil(t(p + 1) * b))
        lo, hi = lo + start, hi + start
        if mistake != "no_clip":
            lo, hi = min(max(lo, 0), size), min(max(hi, 0), size)
        out.append((lo, hi))
    return out


def roi_pool_with(mistake: str = "") -> Fn:
    """A per-bin NumPy RoIPool with at most one deliberate mistake (``""``: correct)."""

    def run(features: Any, rois: Any, ph: int, pw: int, scale: float,
            opts: RoiPoolOptions) -> Any:  # fmt: skip
        check_rois(features, rois, ph, pw, scale)
        dtype = np.float32 if mistake == "float32" else features.dtype
        f, r = features.astype(dtype), rois.astype(dtype)
        k, c, h, w = r.shape[0], f.shape[1], f.shape[2], f.shape[3]
        if k == 0 and mistake == "empty_flat":
            return np.zeros((0,), dtype=dtype)
        out = np.zeros((k, c, ph, pw), dtype=np.float64)
        rule = opts.quantisation
        if mistake == "quantisation_swapped":
            rule = "floor_ceil_float" if rule == "floor_bins" else "floor_bins"
        rule = {"exact_for_float": "floor_ceil_exact", "float_for_exact": "floor_ceil_float"}.get(
            mistake, rule
        )
        bins_dtype = np.float64 if mistake == "float_rule_in_float64" else dtype
        nan_tv = opts.nan_policy == "torchvision"
        nan_tv = {"nan_always_skipped": True, "nan_always_propagated": False}.get(mistake, nan_tv)
        for i in range(min(k, 256 if mistake == "first_block_only" else k)):
            b = 0 if mistake == "batch_ignored" else int(r[i, 0])
            x1, y1, x2, y2 = (_round(float(v) * scale, mistake) for v in r[i, 1:])
            one = 0 if mistake == "no_plus_one" else 1
            rh, rw = max(y2 - y1 + one, 1), max(x2 - x1 + one, 1)
            if mistake == "clip_roi_first":  # the RoI cut to the map before it is split
                y1c, x1c = max(y1, 0), max(x1, 0)
                rh, rw = max(min(y1 + rh, h) - y1c, 1), max(min(x1 + rw, w) - x1c, 1)
                y1, x1 = y1c, x1c
            rows = _edges(y1, rh, ph, h, rule, mistake, bins_dtype)
            cols = _edges(x1, rw, pw, w, rule, mistake, bins_dtype)
            for p, (h0, h1) in enumerate(rows):
                for q, (w0, w1) in enumerate(cols):
                    if h1 <= h0 or w1 <= w0:
                        out[i, :, p, q] = -np.inf if mistake == "empty_as_minus_inf" else 0.0
                        continue
                    window = f[b, :, h0:h1, w0:w1]  # no_clip: a negative start wraps around
                    cells = window.reshape(c, window.shape[1] * window.shape[2])
                    if cells.shape[1] == 0:
                        continue
                    if opts.pool_mode == "avg":
                        area = cells.shape[1]
                        if mistake == "avg_unclipped_area":  # the bin's cells before clipping
                            (a0, a1), (b0, b1) = (
                                _edges(y1, rh, ph, h, rule, "no_clip", bins_dtype)[p],
                                _edges(x1, rw, pw, w, rule, "no_clip", bins_dtype)[q],
                            )
                            area = (a1 - a0) * (b1 - b0)
                        out[i, :, p, q] = cells.astype(np.float64).sum(axis=1) / area
                    elif nan_tv:
                        floor = -np.inf if mistake == "no_flt_max_floor" else -FLT_MAX
                        vals = np.where(np.isnan(cells), -np.inf, cells).max(axis=1)
                        out[i, :, p, q] = np.maximum(vals, floor)
                    else:
                        out[i, :, p, q] = cells.max(axis=1)
        return out.astype(features.dtype)

    return run


def verdict(fn: Fn, case_name: str) -> Verdict:
    impl = Implementation("roi_pool", "numpy", "under_test", fn)
    return verify(SUITE, impl, SUITE.find_case(case_name))


def test_a_correct_per_bin_implementation_passes_every_verify_case() -> None:
    for c in SUITE.cases:
        v = verdict(roi_pool_with(), c.name)
        assert v.status == "pass", (c.name, v.detail)


# mistake -> (a case it passes, a case it fails, words the diagnosis contains)
MISTAKES = {
    # corner rounding: np.round (halves to even), floor(v + 0.5) (negative halves), int()
    "np_round": ("random_f32", "halves_f64", "elements differ"),
    "floor_half": ("random_f32", "halves_f64", "elements differ"),
    "truncate": ("identity_f64", "halves_scaled_f32", "elements differ"),
    # R = end - start without the + 1 of inclusive corners
    "no_plus_one": ("empty_rois", "random_f64", "elements differ"),
    # the two quantisation rules mixed up
    "quantisation_swapped": ("identity_f64", "floor_bins_f64", "elements differ"),
    # torchvision's bin size R/P in floating point vs exact integers, either way round;
    # and the float rule always in float64 (right for float64, wrong for float32's R = 57)
    "exact_for_float": ("float_bins_exact_rule_f64", "float_bins_f64", "elements differ"),
    "float_for_exact": ("float_bins_f64", "float_bins_exact_rule_f64", "elements differ"),
    "float_rule_in_float64": ("float_bins_f64", "float_bins_f32", "elements differ"),
    # bins off the map: cut the RoI first (other bins), or no clipping, or not 0 when empty
    "clip_roi_first": ("identity_f64", "outside_f64", "elements differ"),
    "no_clip": ("identity_f64", "outside_f64", "elements differ"),
    "empty_as_minus_inf": ("identity_f64", "outside_f64", "infinite values"),
    "avg_unclipped_area": ("identity_f64", "avg_f64", "elements differ"),
    # NaN: the spec propagates, torchvision's comparison skips it and floors at -FLT_MAX
    "nan_always_skipped": ("nan_torchvision_f64", "nan_propagate_f64", "numbers where"),
    "nan_always_propagated": ("nan_propagate_f64", "nan_torchvision_f64", "NaN where"),
    "no_flt_max_floor": ("nan_propagate_f64", "nan_torchvision_f64", "infinite values"),
    "batch_ignored": ("single_image_f32", "random_f32", "elements differ"),
    "float32": ("random_f32", "near_half_f64", "elements differ"),
    "first_block_only": ("random_f32", "multi_block", "elements differ"),
    "empty_flat": ("random_f32", "empty_rois", "shape"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_each_classic_mistake_is_caught_where_it_matters(mistake: str) -> None:
    passes, fails, words = MISTAKES[mistake]
    v = verdict(roi_pool_with(mistake), passes)
    assert v.status == "pass", (mistake, passes, v.detail)
    v = verdict(roi_pool_with(mistake), fails)
    assert v.status == "fail" and words in v.detail, (mistake, v.status, v.detail)


def test_an_identity_shortcut_that_returns_the_features_is_caught_as_aliasing() -> None:
    """Whole-map RoIs at 1-cell bins are the identity; returning the input itself there is
    an aliasing output, not a fast path."""

    def shortcut(features: Any, rois: Any, ph: int, pw: int, scale: float,
                 opts: RoiPoolOptions) -> Any:  # fmt: skip
        n, _, h, w = features.shape
        whole = np.tile([0.0, 0.0, (w - 1) / scale, (h - 1) / scale], (n, 1))
        if (ph, pw) == (h, w) and len(rois) == n and np.array_equal(rois[:, 1:], whole):
            check_rois(features, rois, ph, pw, scale)
            return features
        return roi_pool_with()(features, rois, ph, pw, scale, opts)

    assert verdict(shortcut, "random_f32").status == "pass"
    v = verdict(shortcut, "identity_f64")
    assert v.status == "fail" and "shares memory with input 'features'" in v.detail, v.detail


# ---- the specification's rules on hand-made inputs ----------------------------------------


def _pool(rois: list[list[float]], ph: int, pw: int, **options: Any) -> Any:
    f = np.arange(36.0).reshape(1, 1, 6, 6)
    r = np.array(rois, dtype=np.float64)
    return roi_pool(f, r, ph, pw, 1.0, RoiPoolOptions(**options))[:, 0]


def test_half_coordinates_round_away_from_zero() -> None:
    """x1 = y1 = 2.5 rounds to 3 (not 2), x2 = y2 = 3.5 to 4: the 2 x 2 cells from (3, 3)."""
    out = _pool([[0, 2.5, 2.5, 3.5, 3.5]], 2, 2)
    np.testing.assert_array_equal(out[0], [[21, 22], [27, 28]])


def test_caffe_bins_overlap_when_the_roi_has_fewer_cells_than_bins() -> None:
    """R = 2 cells in 3 bins: [floor(0), ceil(2/3)) = [0, 1), [0, 2), [1, 2)."""
    out = _pool([[0, 0, 0, 1, 0]], 1, 3)
    np.testing.assert_array_equal(out[0], [[0, 1, 1]])


def test_floor_bins_drop_the_remainder() -> None:
    """R = 5 cells in 2 bins of floor(5/2) = 2: columns 0-1 and 2-3; column 4 is dropped."""
    out = _pool([[0, 0, 0, 4, 0]], 1, 2, quantisation="floor_bins", pool_mode="avg")
    np.testing.assert_array_equal(out[0], [[0.5, 2.5]])


def test_bins_off_the_map_are_zero_and_partly_off_bins_pool_what_is_on_it() -> None:
    """RoI x from -3 to 2 (6 cells, 2 bins of 3): bin 0 is [-3, 0), off the map: 0; bin 1
    [0, 3) clipped to the map: max of columns 0-2 of row 0."""
    out = _pool([[0, -3, 0, 2, 0]], 1, 2)
    np.testing.assert_array_equal(out[0], [[0, 2]])


def test_torchvision_nan_policy_floors_an_all_nan_bin_at_minus_flt_max() -> None:
    f = np.full((1, 1, 2, 2), np.nan)
    opts = RoiPoolOptions(nan_policy="torchvision")
    out = roi_pool(f, np.array([[0, 0, 0, 1, 1.0]]), 1, 1, 1.0, opts)
    assert out[0, 0, 0, 0] == -FLT_MAX
    assert np.isnan(roi_pool(f, np.array([[0, 0, 0, 1, 1.0]]), 1, 1, 1.0, RoiPoolOptions()))


def test_the_float_rule_gives_the_last_bin_one_more_cell_where_torchvision_does() -> None:
    """R = 29 rows in 7 bins: b = 29/7 rounds up in float64, 7*b > 29, so the last bin is
    [24, 30) where exact arithmetic says [24, 29) (torchvision's output, checked by hand
    against its CPU kernel). In float32 the same R = 29 splits exactly, R = 57 does not."""
    f = np.arange(64.0).reshape(1, 1, 64, 1)
    rois = np.array([[0, 0, 0, 0, 28.0]])
    last = roi_pool(f, rois, 7, 1, 1.0, RoiPoolOptions())[0, 0, :, 0]
    exact = roi_pool(f, rois, 7, 1, 1.0, RoiPoolOptions(quantisation="floor_ceil_exact"))
    np.testing.assert_array_equal(last, [4, 8, 12, 16, 20, 24, 29])
    np.testing.assert_array_equal(exact[0, 0, :, 0], [4, 8, 12, 16, 20, 24, 28])
    f32, r32 = f.astype(np.float32), rois.astype(np.float32)
    assert roi_pool(f32, r32, 7, 1, 1.0, RoiPoolOptions())[0, 0, -1, 0] == 28
    r57 = np.array([[0, 0, 0, 0, 56.0]], dtype=np.float32)
    assert roi_pool(f32, r57, 7, 1, 1.0, RoiPoolOptions())[0, 0, -1, 0] == 57
