"""roi_align: each convention split and classic mistake of RoIAlign is caught by the suite with a
diagnosis that says what differs; a correct per-RoI implementation passes. Also the property
tests of the specification: F.grid_sample agrees at one sample per bin, a constant map gives
a constant output, and the oracle agrees with the harness's bilinear building block."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.spec import Case
from harness.verify import Verdict, case_inputs, verify
from suites.roi_align import SUITE, RoiAlignOptions, check_rois, roi_align

Fn = Callable[..., Any]


def _weights(coord: np.ndarray, size: int, mistake: str) -> tuple[Any, Any, Any, Any]:
    """(low, high, weight low, weight high) with at most one border-rule mistake."""
    if mistake == "zero_padding":  # grid_sample's zeros padding: no clamp, no pin
        low = np.floor(coord).astype(np.int64)
        frac = coord - low
        ok_lo, ok_hi = (low >= 0) & (low < size), (low + 1 >= 0) & (low + 1 < size)
        lo, hi = np.clip(low, 0, size - 1), np.clip(low + 1, 0, size - 1)
        return lo, hi, np.where(ok_lo, 1 - frac, 0.0), np.where(ok_hi, frac, 0.0)
    if mistake == "open_border":  # -1 and size themselves counted as outside
        inside = (coord > -1.0) & (coord < size)
    else:
        inside = (coord >= -1.0) & (coord <= size)
    c = np.maximum(coord, 0.0)
    low = np.floor(c).astype(np.int64)
    pinned = low >= size - 1
    low = np.where(pinned, size - 1, low)
    high = np.where(pinned, size - 1, low + 1)
    frac = np.where(pinned, 0.0, c - low)
    return low, high, np.where(inside, 1 - frac, 0.0), np.where(inside, frac, 0.0)


def roi_align_with(mistake: str = "") -> Fn:
    """A per-RoI NumPy RoIAlign with at most one deliberate mistake (``""``: correct)."""

    def run(features: Any, rois: Any, ph: int, pw: int, scale: float, sr: int,
            opts: RoiAlignOptions) -> Any:  # fmt: skip
        check_rois(features, rois, ph, pw, scale, sr)
        dtype = np.float32 if mistake == "float32" else features.dtype
        f, r = features.astype(dtype), rois.astype(dtype)
        k, c, h, w = r.shape[0], f.shape[1], f.shape[2], f.shape[3]
        if k == 0 and mistake == "empty_flat":
            return np.zeros((0,), dtype=dtype)
        out = np.zeros((k, c, ph, pw), dtype=dtype)
        aligned = {"aligned_ignored": False, "aligned_always": True}.get(mistake, opts.aligned)
        limit = 256 if mistake == "first_block_only" else k
        for i in range(min(k, limit)):
            b = 0 if mistake == "batch_ignored" else int(r[i, 0])
            off = 0.5 if aligned else 0.0
            x1, y1 = r[i, 1] * scale - off, r[i, 2] * scale - off
            rw, rh = r[i, 3] * scale - off - x1, r[i, 4] * scale - off - y1
            force = not aligned if mistake != "no_min_size" else False
            if mistake == "min_size_always":
                force = True
            if force:
                rw, rh = max(rw, 1.0), max(rh, 1.0)
            if sr > 0 or (mistake == "negative_ratio_fixed" and sr < 0):
                gh = gw = max(sr, 1)
            elif mistake == "adaptive_floor":
                gh, gw = math.floor(rh / ph), math.floor(rw / pw)
            elif mistake == "adaptive_whole_roi":
                gh, gw = math.ceil(rh), math.ceil(rw)
            else:
                gh, gw = math.ceil(rh / ph), math.ceil(rw / pw)
            if gh <= 0 or gw <= 0:
                continue
            bh, bw = rh / ph, rw / pw
            ys = (y1 + np.arange(ph)[:, None] * bh + (np.arange(gh) + 0.5) * bh / gh).ravel()
            xs = (x1 + np.arange(pw)[:, None] * bw + (np.arange(gw) + 0.5) * bw / gw).ravel()
            yl, yh, wyl, wyh = _weights(ys.astype(dtype), h, mistake)
            xl, xh, wxl, wxh = _weights(xs.astype(dtype), w, mistake)
            fm = f[b]
            if mistake == "max_over_pixels" and opts.pool_mode == "max":  # raw corner pixels
                corners = [fm[:, a[:, None], q[None, :]] for a in (yl, yh) for q in (xl, xh)]
                v = np.max(corners, axis=0)
            else:
                v = sum(
                    wy[:, None] * wx[None, :] * fm[:, a[:, None], q[None, :]]
                    for a, wy in ((yl, wyl), (yh, wyh))
                    for q, wx in ((xl, wxl), (xh, wxh))
                )
            grid = v.reshape(c, ph, gh, pw, gw)
            if opts.pool_mode == "max":
                out[i] = grid.max(axis=(2, 4))
            elif mistake == "count_inside_only":
                inside = ((ys >= -1) & (ys <= h))[:, None] & ((xs >= -1) & (xs <= w))[None, :]
                n = inside.reshape(ph, gh, pw, gw).sum(axis=(1, 3))
                out[i] = grid.sum(axis=(2, 4)) / np.maximum(n, 1)
            else:
                out[i] = grid.sum(axis=(2, 4)) / (gh * gw)
        return out.astype(features.dtype)

    return run


def verdict(fn: Fn, case_name: str) -> Verdict:
    impl = Implementation("roi_align", "numpy", "under_test", fn)
    return verify(SUITE, impl, SUITE.find_case(case_name))


def test_a_correct_per_roi_implementation_passes_every_verify_case() -> None:
    for c in SUITE.cases:
        v = verdict(roi_align_with(), c.name)
        assert v.status == "pass", (c.name, v.detail)


# mistake -> (a case it passes, a case it fails, words the diagnosis contains)
MISTAKES = {
    # detectron2's pixel-centre shift ignored, or applied without aligned=True
    "aligned_ignored": ("random_f32", "aligned_f64", "elements differ"),
    "aligned_always": ("aligned_f32", "random_f64", "elements differ"),
    # the >= 1 px size forced in aligned mode too, or never (zero-size RoIs differ)
    "min_size_always": ("outside_aligned_f64", "degenerate_aligned_f64", "elements differ"),
    "no_min_size": ("outside_f64", "degenerate_f64", "elements differ"),
    # adaptive grid: floor instead of ceil; the whole RoI instead of one bin
    "adaptive_floor": ("sr1_f64", "adaptive_sr0_f64", "elements differ"),
    "adaptive_whole_roi": ("random_f64", "adaptive_sr0_aligned_f64", "elements differ"),
    # only sampling_ratio == 0 taken as adaptive: -1 becomes one sample per bin
    "negative_ratio_fixed": ("adaptive_sr0_f64", "adaptive_neg1_f32", "elements differ"),
    # out-of-map samples: grid_sample's zero padding, an open [-1, size] interval, and a
    # mean over the in-map samples only
    "zero_padding": ("identity_aligned_f64", "outside_f64", "elements differ"),
    "open_border": ("outside_f64", "boundary_f64", "elements differ"),
    "count_inside_only": ("aligned_f64", "outside_aligned_f64", "elements differ"),
    # every RoI read from image 0
    "batch_ignored": ("single_image_f32", "random_f32", "elements differ"),
    # mmcv's max mode is over bilinear samples, not over raw pixels
    "max_over_pixels": ("random_f64", "max_f64", "elements differ"),
    # structure and precision
    "float32": ("random_f32", "near_threshold_f64", "finite values off"),
    "first_block_only": ("random_f32", "multi_block", "elements differ"),
    "empty_flat": ("random_f32", "empty_rois", "shape"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_each_classic_mistake_is_caught_where_it_matters(mistake: str) -> None:
    passes, fails, words = MISTAKES[mistake]
    v = verdict(roi_align_with(mistake), passes)
    assert v.status == "pass", (mistake, passes, v.detail)
    v = verdict(roi_align_with(mistake), fails)
    assert v.status == "fail" and words in v.detail, (mistake, v.status, v.detail)


def test_an_identity_shortcut_that_returns_the_features_is_caught_as_aliasing() -> None:
    """Whole-map RoIs at 1 px bins (aligned) are the identity; returning the input itself
    there is an aliasing output, not a fast path."""

    def shortcut(features: Any, rois: Any, ph: int, pw: int, scale: float, sr: int,
                 opts: RoiAlignOptions) -> Any:  # fmt: skip
        n, _, h, w = features.shape
        whole = np.array_equal(rois[:, 1:], np.tile([0.0, 0.0, w / scale, h / scale], (n, 1)))
        if opts.aligned and sr == 1 and (ph, pw) == (h, w) and whole and len(rois) == n:
            check_rois(features, rois, ph, pw, scale, sr)
            return features
        return roi_align_with()(features, rois, ph, pw, scale, sr, opts)

    assert verdict(shortcut, "random_f32").status == "pass"
    v = verdict(shortcut, "identity_aligned_f64")
    assert v.status == "fail" and "shares memory with input 'features'" in v.detail, v.detail


# ---- properties of the specification (independent of the harness's comparators) -------------


def _grid_sample_centres(f: np.ndarray, rois: np.ndarray, ph: int, pw: int) -> np.ndarray:
    """sampling_ratio = 1, aligned, scale 1: one bilinear read at each bin centre, through
    F.grid_sample (align_corners=True: -1 and 1 are the first and last pixel centres)."""
    torch = pytest.importorskip("torch")
    h, w = f.shape[2:]
    out = []
    for b, x1, y1, x2, y2 in rois:
        ys = y1 - 0.5 + (np.arange(ph) + 0.5) * (y2 - y1) / ph
        xs = x1 - 0.5 + (np.arange(pw) + 0.5) * (x2 - x1) / pw
        gy, gx = np.meshgrid(ys / (h - 1) * 2 - 1, xs / (w - 1) * 2 - 1, indexing="ij")
        grid = torch.from_numpy(np.stack([gx, gy], axis=-1)[None])
        fm = torch.from_numpy(f[int(b) : int(b) + 1])
        out.append(torch.nn.functional.grid_sample(fm, grid, "bilinear", "zeros", True)[0])
    return np.stack([o.numpy() for o in out])


def test_one_sample_per_bin_is_grid_sample_at_the_bin_centres() -> None:
    rng = np.random.default_rng(2024)  # any seed: interior RoIs, every value is exact math
    f = rng.normal(size=(2, 3, 9, 11))
    xy = rng.uniform(0.5, 5.0, size=(20, 2))
    rois = np.column_stack([rng.integers(0, 2, 20), xy, xy + rng.uniform(0.5, 4.5, (20, 2))])
    ours = roi_align(f, rois, 3, 4, 1.0, 1, RoiAlignOptions(aligned=True))
    np.testing.assert_allclose(ours, _grid_sample_centres(f, rois, 3, 4), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("sampling_ratio", [2, 0, -1, 3])
def test_a_constant_map_gives_the_constant_for_interior_rois(
    aligned: bool, sampling_ratio: int
) -> None:
    rng = np.random.default_rng(7)
    f = np.full((1, 2, 12, 12), 2.5)
    xy = rng.uniform(1.0, 5.0, size=(15, 2))
    rois = np.column_stack([np.zeros(15), xy, xy + rng.uniform(1.0, 5.0, (15, 2))])
    opts = RoiAlignOptions(aligned=aligned)
    out = roi_align(f, rois, 2, 3, 1.0, sampling_ratio, opts)
    np.testing.assert_allclose(out, 2.5, rtol=1e-13)


def test_samples_beyond_minus_one_count_as_zero_in_the_mean() -> None:
    """A RoI from y = -3 to 1 (scale 1, one bin, 2 x 2 samples): samples at y = -2 contribute
    0 and y = 0 the top row, so the mean is half the top row's value."""
    f = np.full((1, 1, 4, 4), 8.0)
    rois = np.array([[0.0, 1.0, -3.0, 2.0, 1.0]])
    out = roi_align(f, rois, 1, 1, 1.0, 2, RoiAlignOptions())
    assert out[0, 0, 0, 0] == pytest.approx(4.0)


def test_the_inputs_match_the_declared_sizes() -> None:
    case: Case = SUITE.find_case("random_f32")  # type: ignore[assignment]
    inputs = case_inputs(SUITE, case)
    assert inputs["features"].shape == (2, 3, 10, 12) and inputs["rois"].shape == (7, 5)
    assert set(np.unique(inputs["rois"][:, 0])) <= {0.0, 1.0}


# ---- backward mode -------------------------------------------------------------------------


def _backward_variant(mistake: str) -> Fn:
    """The oracle's scatter with one classic slip of a hand-written RoIAlign backward."""
    from suites.roi_align import _axis, sampling_grid

    def fn(features: Any, rois: Any, grad: Any, ph: int, pw: int, scale: float, sr: int,
           opts: Any) -> Any:  # fmt: skip
        r, g = np.asarray(rois, dtype=np.float64), np.asarray(grad, dtype=np.float64)
        n, c, h, w = features.shape
        out = np.zeros((n, c, h, w))
        offset = 0.5 if opts.aligned else 0.0
        for k, (b, x1, y1, x2, y2) in enumerate(r):
            x1, y1 = x1 * scale - offset, y1 * scale - offset
            roi_w, roi_h = x2 * scale - offset - x1, y2 * scale - offset - y1
            if not opts.aligned:
                roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
            gh, gw = sampling_grid(roi_h, ph, sr), sampling_grid(roi_w, pw, sr)
            if gh <= 0 or gw <= 0:
                continue
            bh, bw = roi_h / ph, roi_w / pw
            ys = y1 + np.arange(ph)[:, None] * bh + (np.arange(gh)[None, :] + 0.5) * bh / gh
            xs = x1 + np.arange(pw)[:, None] * bw + (np.arange(gw)[None, :] + 0.5) * bw / gw
            y_lo, y_hi, wy_lo, wy_hi = _axis(ys.ravel(), h)
            x_lo, x_hi, wx_lo, wx_hi = _axis(xs.ravel(), w)
            count = 1 if mistake == "no_grid_mean" else gh * gw
            per = np.repeat(np.repeat(g[k], gh, axis=1), gw, axis=2) / count
            for yi, wy in ((y_lo, wy_lo), (y_hi, wy_hi)):
                for xi, wx in ((x_lo, wx_lo), (x_hi, wx_hi)):
                    share = wy[:, None] * wx[None, :] * per
                    if mistake == "assign_not_add":  # fancy-index += keeps one repeat only
                        out[int(b)][:, yi[:, None], xi[None, :]] += share
                    else:
                        np.add.at(out[int(b)], (slice(None), yi[:, None], xi[None, :]), share)
        return out.astype(features.dtype)

    fn.__name__ = mistake or "correct"
    return fn


def _run_backward(fn: Fn, name: str) -> Verdict:
    from suites.roi_align import BACKWARD_SUITE

    impl = Implementation("roi_align.backward", "numpy", fn.__name__, fn)
    case = BACKWARD_SUITE.find_case(name)
    assert isinstance(case, Case)
    return verify(BACKWARD_SUITE, impl, case)


def test_backward_scatter_slips_are_caught() -> None:
    for name in ("random_f32", "random_f64", "outside_f64", "empty_rois"):
        assert _run_backward(_backward_variant(""), name).status == "pass", name
    for mistake in ("assign_not_add", "no_grid_mean"):
        v = _run_backward(_backward_variant(mistake), "random_f64")
        assert v.status == "fail" and "elements differ" in v.detail, (mistake, v.detail)
