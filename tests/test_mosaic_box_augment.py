"""mosaic_box_augment: each convention split and classic mistake of the YOLO mosaic is
caught by the suite with a diagnosis; a correct NumPy implementation passes. Plus the
pixel invariant: the canvas under every kept box equals its source's pixels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.spec import Case
from harness.verify import Verdict, verify
from suites.mosaic_box_augment import SUITE, MosaicOptions, check, placement

Fn = Callable[..., Any]
ORDER = {"quadrants_swapped": [0, 2, 1, 3]}


def mosaic_with(mistake: str = "") -> Fn:
    """A NumPy mosaic with at most one deliberate mistake."""

    def run(images: Any, boxes: Any, centres: Any, flips: Any, s: int, fill: int,
            min_size: float, opts: MosaicOptions) -> Any:  # fmt: skip
        dtype = check(images, boxes, centres, flips, s, fill, min_size)
        work = np.float32 if mistake == "float32" else np.float64
        n_b, _, h, w, n_c = images.shape
        n = boxes.shape[2]
        canvas = np.full((n_b, 2 * s, 2 * s, n_c), 0 if mistake == "fill_ignored" else fill,
                         dtype=images.dtype)  # fmt: skip
        out = np.full((n_b, 4 * n, 4), np.nan)
        keep = np.zeros((n_b, 4 * n), bool)
        for b in range(n_b):
            xc, yc = int(centres[b, 0]), int(centres[b, 1])
            for slot, i in enumerate(ORDER.get(mistake, [0, 1, 2, 3])):
                img, bx = images[b, i], boxes[b, i].astype(work).copy()
                if flips[b, i]:
                    if mistake != "boxes_not_flipped":
                        right = w if (opts.flip_convention == "continuous") != (
                            mistake == "flip_convention_swapped") else w - 1  # fmt: skip
                        if mistake == "flip_without_swap":
                            bx[:, [0, 2]] = right - bx[:, [0, 2]]
                        else:
                            bx[:, [0, 2]] = right - bx[:, [2, 0]]
                    img = img[:, ::-1]
                x1a, y1a, x2a, y2a, x1b, y1b, x2b, y2b = placement(slot, xc, yc, h, w, s)
                canvas[b, y1a:y2a, x1a:x2a] = img[y1b:y2b, x1b:x2b]
                dx = x1a if mistake == "offset_without_crop" else x1a - x1b
                bx += np.array([dx, y1a - y1b, dx, y1a - y1b], dtype=work)
                lo, hi = (0, 0), (2 * s, 2 * s)
                if mistake == "clip_to_source":  # the source's own extent, not the canvas
                    lo, hi = (x1a - x1b, y1a - y1b), (x1a - x1b + w, y1a - y1b + h)
                big = (bx[:, 2] - bx[:, 0] > min_size) & (bx[:, 3] - bx[:, 1] > min_size)
                bx[:, 0::2] = np.clip(bx[:, 0::2], lo[0], hi[0])
                bx[:, 1::2] = np.clip(bx[:, 1::2], lo[1], hi[1])
                if mistake != "filter_before_clip":
                    big = (bx[:, 2] - bx[:, 0] > min_size) & (bx[:, 3] - bx[:, 1] > min_size)
                if mistake == "first_block_only":
                    big[256:] = False
                sl = slice(i * n, (i + 1) * n)
                out[b, sl][big] = bx[big]
                keep[b, sl] = big
        if mistake == "empty_shape" and n == 0:
            out = out.reshape(n_b, 0)
        if mistake == "writes_into_input":
            boxes[...] = 0.0
        return canvas, out.astype(dtype), keep

    return run


def verdict(fn: Fn, case_name: str) -> Verdict:
    impl = Implementation("mosaic_box_augment", "numpy", "under_test", fn)
    return verify(SUITE, impl, SUITE.find_case(case_name))


def test_a_correct_implementation_passes_every_verify_case() -> None:
    for c in SUITE.cases:
        v = verdict(mosaic_with(), c.name)
        assert v.status == "pass", (c.name, v.detail)


# mistake -> (a case it passes, a case it fails, words the diagnosis contains)
MISTAKES = {
    "flip_convention_swapped": ("no_boxes", "inclusive_flip", "out_boxes"),
    "flip_without_swap": ("no_boxes", "all_flipped", "out_boxes"),
    "boxes_not_flipped": ("no_boxes", "all_flipped", "out_boxes"),
    "clip_to_source": ("small_sources", "extreme_centres", "out_boxes"),
    "filter_before_clip": ("no_boxes", "extreme_centres", "keep"),
    "quadrants_swapped": ("", "random_f64", "canvas"),
    "offset_without_crop": ("small_sources", "random_f64", "out_boxes"),
    "fill_ignored": ("large_min_size", "random_f64", "canvas"),
    "float32": ("random", "random_f64", "out_boxes"),
    "first_block_only": ("random_f64", "multi_block", "keep"),
    "empty_shape": ("random_f64", "no_boxes", "shape"),
    "writes_into_input": ("", "random_f64", "input"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_each_classic_mistake_is_caught_where_it_matters(mistake: str) -> None:
    passes, fails, words = MISTAKES[mistake]
    if passes:
        v = verdict(mosaic_with(mistake), passes)
        assert v.status == "pass", (mistake, passes, v.detail)
    v = verdict(mosaic_with(mistake), fails)
    assert v.status in ("fail", "error") and words in v.detail, (mistake, v.status, v.detail)


@pytest.mark.parametrize("name", ["random", "extreme_centres", "all_flipped", "small_sources"])
def test_pixels_under_each_kept_box_are_its_sources(name: str) -> None:
    """The spec's invariant, on integer-cornered boxes: every canvas pixel inside a kept box
    lies in the rectangle its own source was copied to, and equals the
    source pixel it came from (mirrored where flipped)."""
    case = SUITE.find_case(name)
    assert isinstance(case, Case)
    inputs = dict(SUITE.make_inputs(case))
    inputs["boxes"] = np.floor(inputs["boxes"]).astype(np.float64)
    inputs["flips"] = np.asarray(inputs["flips"])
    canvas, out, keep = SUITE.run_oracle(inputs, case)  # every case here has the default options
    images, s = inputs["images"], inputs["s"]
    n_b, _, h, w, _ = images.shape
    n = inputs["boxes"].shape[2]
    for b in range(n_b):
        xc, yc = (int(v) for v in inputs["centres"][b])
        for k in np.flatnonzero(keep[b]):
            i = k // n
            x1a, y1a, x2a, y2a, x1b, y1b, _, _ = placement(i, xc, yc, h, w, s)
            bx1, by1, bx2, by2 = (int(v) for v in out[b, k])
            assert x1a <= bx1 <= bx2 <= x2a and y1a <= by1 <= by2 <= y2a
            src = images[b, i][:, ::-1] if inputs["flips"][b, i] else images[b, i]
            want = src[by1 - y1a + y1b : by2 - y1a + y1b, bx1 - x1a + x1b : bx2 - x1a + x1b]
            np.testing.assert_array_equal(canvas[b, by1:by2, bx1:bx2], want)


def test_centre_out_of_range_raises() -> None:
    case = SUITE.find_case("random")
    assert isinstance(case, Case)
    inputs = dict(SUITE.make_inputs(case))
    inputs["centres"] = np.array([[15, 40], [40, 40]])  # s = 32: [16, 48]
    with pytest.raises(ValueError, match="centres"):
        SUITE.run_oracle(inputs, case)
