"""anchor_generation_box_coder: each convention split and classic mistake of anchor
generation and box coding is caught by the suite with a diagnosis; a correct vectorised
implementation passes. Also py-faster-rcnn's published anchors and the coder's round trip,
checked by hand."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.verify import Verdict, verify
from suites.anchor_generation_box_coder import (
    CLIP,
    SUITE,
    WEIGHTS,
    AnchorCoderOptions,
    anchor_generation_box_coder,
    check_inputs,
    decode,
    encode,
)

Fn = Callable[..., Any]


def _round(v: Any, mistake: str) -> Any:
    if mistake == "round_half_away":
        return np.sign(v) * np.floor(np.abs(v) + 0.5)
    return v if mistake == "no_rounding" else np.round(v)


def _base(stride: int, s: Any, r: Any, convention: str, mistake: str) -> Any:
    if convention == "torchvision":
        hr = np.sqrt(r)
        w, h = (1 / hr)[:, None] * s[None, :], hr[:, None] * s[None, :]
        if mistake == "scale_major":
            w, h = w.T, h.T
        if mistake == "ratio_is_w_over_h":
            w, h = h, w
        w, h = w.reshape(-1), h.reshape(-1)
        return _round(np.stack([-w, -h, w, h], axis=1) / 2, mistake)
    py_mistake = "" if mistake == "no_rounding" else mistake  # torchvision's rounding only
    ws0 = _round(np.sqrt(stride * stride / r), py_mistake)
    hs0 = _round(ws0 * r, py_mistake)
    ws = (ws0[:, None] * (s / stride)[None, :]).reshape(-1) - 1
    hs = (hs0[:, None] * (s / stride)[None, :]).reshape(-1) - 1
    ctr = stride / 2 if mistake == "centre_half_stride" else (stride - 1) / 2
    return np.stack([ctr - ws / 2, ctr - hs / 2, ctr + ws / 2, ctr + hs / 2], axis=1)


def coder_with(mistake: str = "") -> Fn:
    """A vectorised NumPy anchor generator and coder with at most one deliberate mistake."""

    def run(fs: Any, strides: Any, sizes: Any, ratios: Any, gt: Any, match: Any, codes: Any,
            opts: AnchorCoderOptions) -> Any:  # fmt: skip
        dtype = check_inputs(fs, strides, sizes, ratios, gt, match, codes)
        work = np.float32 if mistake == "float32" else dtype
        s_, r_ = sizes.astype(work), ratios.astype(work)
        levels = []
        for lvl, ((gh, gw), stride) in enumerate(zip(fs.tolist(), strides.tolist(), strict=True)):
            base = _base(stride, s_[lvl], r_, opts.convention, mistake)
            ys, xs = np.meshgrid(np.arange(gh) * stride, np.arange(gw) * stride, indexing="ij")
            if mistake == "column_major":
                xs, ys = xs.T, ys.T
            shifts = np.stack([xs, ys, xs, ys], axis=-1).reshape(-1, 1, 4).astype(work)
            if mistake == "anchor_major":
                level = (shifts.reshape(1, -1, 4) + base[:, None, :]).reshape(-1, 4)
            else:
                level = (shifts + base[None, :, :]).reshape(-1, 4)
            levels.append(level)
        anchors = np.concatenate(levels).astype(work)
        one = (
            1.0 if (opts.convention == "py_faster_rcnn") != (mistake == "plus_one_swapped") else 0.0
        )
        wx, wy, ww, wh = WEIGHTS[opts.weights]
        if mistake == "weights_swapped":
            wx, wy, ww, wh = ww, wh, wx, wy
        p = anchors[match]
        pw, ph = p[:, 2] - p[:, 0] + one, p[:, 3] - p[:, 1] + one
        px, py = p[:, 0] + 0.5 * pw, p[:, 1] + 0.5 * ph
        g, c = gt.astype(work), codes.astype(work)
        if mistake == "in_place":  # writes the deltas over gt, then returns that array
            deltas = gt
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            gw_, gh_ = g[:, 2] - g[:, 0] + one, g[:, 3] - g[:, 1] + one
            gx, gy = g[:, 0] + 0.5 * gw_, g[:, 1] + 0.5 * gh_
            d = np.stack([wx * (gx - px) / pw, wy * (gy - py) / ph, ww * np.log(gw_ / pw),
                          wh * np.log(gh_ / ph)], axis=1)  # fmt: skip
            if mistake == "in_place":
                deltas[...] = d
            else:
                deltas = d
            dx, dy, dw, dh = c[:, 0] / wx, c[:, 1] / wy, c[:, 2] / ww, c[:, 3] / wh
            if mistake == "clamp_before_weights":
                dw, dh = np.minimum(c[:, 2], CLIP) / ww, np.minimum(c[:, 3], CLIP) / wh
            elif mistake != "no_clamp":
                dw, dh = np.minimum(dw, CLIP), np.minimum(dh, CLIP)
            if mistake == "clamp_both_sides":
                dw, dh = np.maximum(dw, -CLIP), np.maximum(dh, -CLIP)
            cx, cy = dx * pw + px, dy * ph + py
            w, h = np.exp(dw) * pw, np.exp(dh) * ph
            less = 0.0 if mistake == "no_minus_one_on_decode" else one
            boxes = np.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w - less,
                              cy + 0.5 * h - less], axis=1)  # fmt: skip
        if len(match) == 0 and mistake == "empty_flat":
            deltas = np.zeros((0,), dtype=dtype)
        if mistake == "first_block_only":
            boxes[256:] = 0
        return anchors.astype(dtype), deltas.astype(dtype, copy=False), boxes.astype(dtype)

    return run


def verdict(fn: Fn, case_name: str) -> Verdict:
    impl = Implementation("anchor_generation_box_coder", "numpy", "under_test", fn)
    return verify(SUITE, impl, SUITE.find_case(case_name))


def test_a_correct_vectorised_implementation_passes_every_verify_case() -> None:
    for c in SUITE.cases:
        v = verdict(coder_with(), c.name)
        assert v.status == "pass", (c.name, v.detail)


# mistake -> (a case it passes, a case it fails, words the diagnosis contains)
MISTAKES = {
    # torchvision's torch.round takes halves to even; C-style rounding, or none at all
    "round_half_away": ("random_f64", "halves_f64", "elements differ"),
    "no_rounding": ("py_faster_rcnn_f64", "random_f64", "elements differ"),
    # order of the R*S base anchors (scale-major) and of locations (anchor-major, columns)
    "scale_major": ("halves_f64", "random_f64", "elements differ"),
    "anchor_major": ("empty_grid", "random_f64", "elements differ"),
    "column_major": ("empty_grid", "non_square_grid_f64", "elements differ"),
    # the ratio read as w/h instead of h/w
    "ratio_is_w_over_h": ("halves_f64", "random_f64", "elements differ"),
    # py-faster-rcnn: centres at stride/2 instead of (stride - 1)/2
    "centre_half_stride": ("random_f64", "py_faster_rcnn_f64", "elements differ"),
    # +1 widths under the wrong convention; decode without the -1 of the exact inverse
    "plus_one_swapped": ("empty_targets", "random_f64", "elements differ"),
    "no_minus_one_on_decode": ("random_f64", "py_faster_rcnn_f64", "elements differ"),
    # weights: (ww, wh) in place of (wx, wy); the clamp missing, on the wrong side, or on
    # the weighted delta (log(1000/16) * 5 for the R-CNN head)
    "weights_swapped": ("random_f64", "rcnn_weights_f64", "elements differ"),
    "no_clamp": ("random_f64", "huge_deltas_f64", "elements differ"),
    "clamp_both_sides": ("random_f64", "huge_deltas_f64", "elements differ"),
    "clamp_before_weights": ("huge_deltas_f64", "huge_deltas_rcnn_f32", "elements differ"),
    "float32": ("random_f32", "random_f64", "elements differ"),
    "first_block_only": ("random_f32", "multi_block", "elements differ"),
    "empty_flat": ("random_f32", "empty_targets", "shape"),
    "in_place": ("empty_targets", "random_f64", "input"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_each_classic_mistake_is_caught_where_it_matters(mistake: str) -> None:
    passes, fails, words = MISTAKES[mistake]
    v = verdict(coder_with(mistake), passes)
    assert v.status == "pass", (mistake, passes, v.detail)
    v = verdict(coder_with(mistake), fails)
    assert v.status in ("fail", "error") and words in v.detail, (mistake, v.status, v.detail)


# ---- the specification's rules on hand-made inputs ----------------------------------------


def _anchors(convention: str, stride: int, sizes: list[float], ratios: list[float]) -> Any:
    z = np.zeros((0, 4))
    out = anchor_generation_box_coder(
        np.array([[1, 1]]), np.array([stride]), np.array([sizes]), np.array(ratios), z,
        np.zeros(0, dtype=np.int64), z, AnchorCoderOptions(convention=convention),
    )  # fmt: skip
    return out[0]


def test_py_faster_rcnn_reproduces_its_published_nine_anchors() -> None:
    """generate_anchors(base_size=16, ratios=[0.5, 1, 2], scales=[8, 16, 32]) as printed in
    py-faster-rcnn's source."""
    got = _anchors("py_faster_rcnn", 16, [128.0, 256.0, 512.0], [0.5, 1.0, 2.0])
    published = [[-84, -40, 99, 55], [-176, -88, 191, 103], [-360, -184, 375, 199],
                 [-56, -56, 71, 71], [-120, -120, 135, 135], [-248, -248, 263, 263],
                 [-36, -80, 51, 95], [-80, -168, 95, 183], [-168, -344, 183, 359]]  # fmt: skip
    np.testing.assert_array_equal(got, published)


def test_torchvision_base_anchors_round_halves_to_even() -> None:
    """s = 33 and 35 at ratio 1: +-16.5 -> +-16 and +-17.5 -> +-18; ratio 2 on s = 32:
    w = 32/sqrt(2) = 22.6, h = 45.3 -> (-11, -23, 11, 23)."""
    np.testing.assert_array_equal(
        _anchors("torchvision", 8, [33.0, 35.0], [1.0]), [[-16, -16, 16, 16], [-18, -18, 18, 18]]
    )
    np.testing.assert_array_equal(_anchors("torchvision", 8, [32.0], [2.0]), [[-11, -23, 11, 23]])


@pytest.mark.parametrize("weights", ["rpn", "rcnn"])
@pytest.mark.parametrize("one", [0.0, 1.0])
def test_decode_inverts_encode_within_the_clamp(weights: str, one: float) -> None:
    """decode(encode(g, a), a) = g while |dw|, |dh| <= log(1000/16) (boxes up to 62.5 x their
    anchor); a box wider than that comes back 62.5 x the anchor."""
    rng = np.random.default_rng(3)  # arbitrary fixed seed
    a = np.concatenate([rng.uniform(0, 50, (64, 2)), rng.uniform(60, 90, (64, 2))], axis=1)
    wh = (a[:, 2:] - a[:, :2] + one) * rng.uniform(0.05, 40.0, (64, 2))
    g = np.concatenate([rng.uniform(-20, 60, (64, 2)), np.zeros((64, 2))], axis=1)
    g[:, 2:] = g[:, :2] + wh - one
    w = WEIGHTS[weights]
    np.testing.assert_allclose(decode(encode(g, a, w, one), a, w, one), g, rtol=1e-12, atol=1e-9)
    big = g.copy()
    big[:, 2] = big[:, 0] + 100.0 * (a[:, 2] - a[:, 0] + one) - one
    back = decode(encode(big, a, w, one), a, w, one)
    np.testing.assert_allclose(back[:, 2] - back[:, 0] + one, 62.5 * (a[:, 2] - a[:, 0] + one))
    assert math.isclose(CLIP, math.log(62.5))
