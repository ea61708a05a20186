"""centernet_gaussian_heatmap: each convention split and classic mistake of CenterNet's
targets is caught by the suite with a diagnosis; a correct per-object implementation
passes. Also the radius formulas and the window on hand-made inputs."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.verify import Verdict, verify
from suites.centernet_gaussian_heatmap import (
    SUITE,
    HeatmapOptions,
    centernet_gaussian_heatmap,
    check_inputs,
    gaussian_radius,
)

Fn = Callable[..., Any]


def heatmap_with(mistake: str = "") -> Fn:
    """A per-object NumPy implementation with at most one deliberate mistake."""

    def run(boxes: Any, labels: Any, c: int, height: int, width: int, overlap: float,
            opts: HeatmapOptions) -> Any:  # fmt: skip
        check_inputs(boxes, labels, c, height, width, overlap)
        dtype = np.float32 if mistake == "float32" else np.float64
        nb, m = labels.shape
        heat = np.zeros((nb, c, height, width), dtype=dtype)
        wh, off = np.zeros((nb, m, 2)), np.zeros((nb, m, 2))
        index, mask = np.zeros((nb, m), dtype=np.int64), np.zeros((nb, m))
        if mistake == "clip_in_place":  # clips the caller's array (as on a private copy)
            np.clip(boxes[..., 0::2], 0, width - 1, out=boxes[..., 0::2])
        b = boxes.astype(np.float64)
        if mistake != "no_clip":
            b[..., 0::2] = np.clip(b[..., 0::2], 0, width - 1)
            b[..., 1::2] = np.clip(b[..., 1::2], 0, height - 1)
        formula = opts.radius_formula
        if mistake == "formula_swapped":
            formula = "exact" if formula == "reference" else "reference"
        for i in range(nb if mistake != "first_image_only" else 1):
            for k in range(m if mistake != "first_block_only" else min(m, 256)):
                if labels[i, k] < 0:
                    continue
                x1, y1, x2, y2 = (float(v) for v in b[i, k])
                h, w = y2 - y1, x2 - x1
                if not (h > 0 and w > 0) and mistake != "draw_empty":
                    continue
                hs, ws = (h, w) if mistake == "no_ceil" else (math.ceil(h), math.ceil(w))
                rad = gaussian_radius(hs, ws, overlap, formula)
                r = max(0, round(rad) if mistake == "round_radius" else int(rad))
                cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
                ix, iy = (round(cx), round(cy)) if mistake == "round_centre" else (int(cx), int(cy))
                ix, iy = min(max(ix, 0), width - 1), min(max(iy, 0), height - 1)
                sigma = r / 3 if mistake == "sigma_r_over_3" else (2 * r + 1) / 6
                sigma = max(sigma, 1e-3)
                for y in range(max(iy - r, 0), min(iy + r + 1, height)):
                    for x in range(max(ix - r, 0), min(ix + r + 1, width)):
                        g = math.exp(-((x - ix) ** 2 + (y - iy) ** 2) / (2 * sigma * sigma))
                        cell = heat[i, labels[i, k], y, x]
                        heat[i, labels[i, k], y, x] = cell + g if mistake == "sum" else max(cell, g)
                wh[i, k], off[i, k] = (w, h), (cx - ix, cy - iy)
                index[i, k] = ix * height + iy if mistake == "index_swapped" else iy * width + ix
                mask[i, k] = 1.0
        if m == 0 and mistake == "empty_flat":
            d = boxes.dtype
            return heat.astype(d), np.zeros((0,), d), off.astype(d), index, mask.astype(d)
        out = boxes.dtype
        return heat.astype(out), wh.astype(out), off.astype(out), index, mask.astype(out)

    return run


def verdict(fn: Fn, case_name: str) -> Verdict:
    impl = Implementation("centernet_gaussian_heatmap", "numpy", "under_test", fn)
    return verify(SUITE, impl, SUITE.find_case(case_name))


def test_a_correct_per_object_implementation_passes_every_verify_case() -> None:
    for c in SUITE.cases:
        v = verdict(heatmap_with(), c.name)
        assert v.status == "pass", (c.name, v.detail)


# mistake -> (a case it passes, a case it fails, words the diagnosis contains)
MISTAKES = {
    "formula_swapped": ("all_padding", "exact_radius_f64", "differ"),
    "no_ceil": ("all_padding", "random_f64", "differ"),
    "round_radius": ("all_padding", "random_f64", "differ"),
    "round_centre": ("all_padding", "random_f64", "differ"),
    "sigma_r_over_3": ("all_padding", "random_f64", "differ"),
    "sum": ("random_f64", "overlap_max_f64", "differ"),
    "no_clip": ("all_padding", "border_f64", "differ"),
    "draw_empty": ("random_f64", "tiny_f64", "differ"),
    "index_swapped": ("all_padding", "random_f64", "differ"),
    "float32": ("random_f32", "random_f64", "differ"),
    "first_block_only": ("random_f32", "many_objects", "differ"),
    "first_image_only": ("many_objects", "random_f64", "differ"),
    "empty_flat": ("random_f32", "no_objects", "shape"),
    "clip_in_place": ("no_objects", "border_f64", "input"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_each_classic_mistake_is_caught_where_it_matters(mistake: str) -> None:
    passes, fails, words = MISTAKES[mistake]
    v = verdict(heatmap_with(mistake), passes)
    assert v.status == "pass", (mistake, passes, v.detail)
    v = verdict(heatmap_with(mistake), fails)
    assert v.status in ("fail", "error") and words in v.detail, (mistake, v.status, v.detail)


def test_the_reference_radius_is_larger_than_the_exact_roots() -> None:
    """A 10 x 10 box at overlap 0.7: the exact case-2 root (both corners inside) is
    (40 - sqrt(1600 - 480))/8 = 0.817; the reference code's (b + sqrt)/2 is 2.73."""
    exact = gaussian_radius(10, 10, 0.7, "exact")
    assert math.isclose(exact, min((20 - math.sqrt(400 - 4 * 30 / 1.7)) / 2,
                                   (40 - math.sqrt(1600 - 16 * 30)) / 8,
                                   (28 + math.sqrt(784 + 4 * 2.8 * 30)) / 5.6))  # fmt: skip
    assert math.isclose(exact, 0.8167, abs_tol=1e-4)
    assert math.isclose(gaussian_radius(10, 10, 0.7, "reference"), (-28 + math.sqrt(1120)) / 2)


def test_window_peaks_at_the_truncated_centre_and_is_clipped_at_the_border() -> None:
    """A box from x = -3.1 is clipped to x = 0 first: centre (2.45, 5.5), peak 1 at row 5,
    column 2; wh of the clipped box (4.9, 8); offset (0.45, 0.5); index 5*12 + 2."""
    boxes = np.array([[[-3.1, 1.5, 4.9, 9.5]]])
    heat, wh, off, index, mask = centernet_gaussian_heatmap(
        boxes, np.array([[0]]), 1, 12, 12, 0.7, HeatmapOptions(radius_formula="exact")
    )
    plane = heat[0, 0]
    assert plane[5, 2] == 1.0 and plane.max() == 1.0 and plane[5, 1] < 1.0
    np.testing.assert_allclose(off[0, 0], [0.45, 0.5])
    np.testing.assert_allclose(wh[0, 0], [4.9, 8.0])
    assert index[0, 0] == 5 * 12 + 2 and mask[0, 0] == 1
