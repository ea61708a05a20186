"""fcos_targets_centerness: each convention split and classic mistake of FCOS's targets is
caught by the suite with a diagnosis; a correct NumPy implementation passes. Plus the rules
on hand-made inputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.verify import Verdict, verify
from suites.fcos_targets_centerness import (
    SUITE,
    FcosOptions,
    check,
    fcos_targets_centerness,
    locations,
)

Fn = Callable[..., Any]


def fcos_with(mistake: str = "") -> Fn:
    """A broadcast NumPy FCOS target builder with at most one deliberate mistake."""

    def run(gt_boxes: Any, strides: Any, size_ranges: Any, H: int, W: int, radius: float,
            opts: FcosOptions) -> Any:  # fmt: skip
        dtype = check(gt_boxes, strides, size_ranges, H, W, radius)
        work = np.float32 if mistake == "float32" else np.float64
        pts, lvl = locations(strides, H, W)
        if mistake == "no_half_stride_offset":
            pts = pts - (strides // 2)[lvl][:, None]
        pts = pts.astype(work)
        x, y = pts[None, :, 0, None], pts[None, :, 1, None]
        g = gt_boxes.astype(work)
        x1, y1, x2, y2 = (g[:, None, :, i] for i in range(4))
        ltrb = np.stack([x - x1, y - y1, x2 - x, y2 - y], axis=-1)  # (B, P, G, 4)
        box = np.stack([x1, y1, x2, y2], axis=-1) + 0 * ltrb
        if opts.center_sampling and mistake != "no_center_sampling":
            rad = 1.5 if mistake == "radius_fixed" else radius
            half = (rad * strides[lvl])[None, :, None]
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            box = np.stack(
                [np.maximum(cx - half, x1), np.maximum(cy - half, y1),
                 np.minimum(cx + half, x2), np.minimum(cy + half, y2)], axis=-1
            )  # fmt: skip
        gap = np.stack([x - box[..., 0], y - box[..., 1], box[..., 2] - x, box[..., 3] - y]).min(0)
        strict = (opts.inside == "strict") != (mistake == "inside_swapped")
        inside = gap > 0 if strict else gap >= 0
        m = ltrb.max(axis=-1)
        ranges = size_ranges.astype(np.float64)
        lo, hi = ranges[lvl, 0][None, :, None], ranges[lvl, 1][None, :, None]
        half_open = (opts.range_bounds == "half_open") != (mistake == "bounds_swapped")
        cand = inside & (m > lo if half_open else m >= lo) & (m <= hi)
        if mistake == "first_block_only":
            cand[:, :, 256:] = False
        area = (x2 - x1) * (y2 - y1) + 0 * m
        if mistake == "largest_area":
            area = -area
        masked = np.where(cand, area, np.inf)
        if mistake == "last_of_equal_areas":
            best = (
                masked.shape[2] - 1 - np.argmin(masked[..., ::-1], axis=2)
                if masked.size
                else np.zeros(masked.shape[:2], int)
            )
        else:
            best = np.argmin(masked, axis=2) if masked.shape[2] else np.zeros(masked.shape[:2], int)
        has = cand.any(axis=2)
        matched = np.where(has, best, -1)
        if ltrb.shape[2]:
            reg = np.take_along_axis(ltrb, best[..., None, None], axis=2)[:, :, 0]
        else:
            reg = np.zeros((*ltrb.shape[:2], 4))
        reg = np.where(has[..., None], reg, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            lr = np.minimum(reg[..., 0], reg[..., 2]) / np.maximum(reg[..., 0], reg[..., 2])
            tb = np.minimum(reg[..., 1], reg[..., 3]) / np.maximum(reg[..., 1], reg[..., 3])
        ctr = np.nan_to_num(lr) * np.nan_to_num(tb)
        if mistake != "no_sqrt":
            ctr = np.sqrt(ctr)
        if mistake == "empty_shape" and gt_boxes.shape[1] == 0:
            reg = reg[..., :0]
        if mistake == "writes_into_input":
            gt_boxes[...] = 0.0
        return matched, reg.astype(dtype), ctr.astype(dtype)

    return run


def verdict(fn: Fn, case_name: str) -> Verdict:
    impl = Implementation("fcos_targets_centerness", "numpy", "under_test", fn)
    return verify(SUITE, impl, SUITE.find_case(case_name))


def test_a_correct_implementation_passes_every_verify_case() -> None:
    for c in SUITE.cases:
        v = verdict(fcos_with(), c.name)
        assert v.status == "pass", (c.name, v.detail)


# mistake -> (a case it passes, a case it fails, words the diagnosis contains)
MISTAKES = {
    "inside_swapped": ("random_f64", "strict_edges", "matched"),
    "no_center_sampling": ("random_f64", "center_sampling", "matched"),
    "radius_fixed": ("center_sampling", "center_sampling_radius_2_5", "matched"),
    "bounds_swapped": ("random_f64", "half_open_ranges", "matched"),
    "last_of_equal_areas": ("random_f64", "equal_areas", "matched"),
    "largest_area": ("no_gt", "random_f64", "matched"),
    "no_sqrt": ("no_gt", "random_f64", "centerness"),
    "no_half_stride_offset": ("no_gt", "random_f64", "differ"),
    "float32": ("random", "random_f64", "reg_targets"),
    "first_block_only": ("random_f64", "many_gts", "matched"),
    "empty_shape": ("random_f64", "no_gt", "shape"),
    "writes_into_input": ("no_gt", "random_f64", "input"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_each_classic_mistake_is_caught_where_it_matters(mistake: str) -> None:
    passes, fails, words = MISTAKES[mistake]
    if mistake != "writes_into_input":
        v = verdict(fcos_with(mistake), passes)
        assert v.status == "pass", (mistake, passes, v.detail)
    v = verdict(fcos_with(mistake), fails)
    assert v.status in ("fail", "error") and words in v.detail, (mistake, v.status, v.detail)


def _targets(gt: list[list[float]], **options: Any) -> Any:
    """One image 32 x 32, one level of stride 8 (locations 4, 12, 20, 28), range (0, 64]."""
    return fcos_targets_centerness(
        np.array([gt]), np.array([8]), np.array([[0.0, 64.0]]), 32, 32, 1.5,
        FcosOptions(**options),
    )  # fmt: skip


def test_centerness_of_an_off_centre_location() -> None:
    """GT (0, 0, 16, 32); location (4, 12): l = 4, r = 12, t = 12, b = 20 ->
    sqrt(4/12 · 12/20) = sqrt(0.2)."""
    matched, reg, ctr = _targets([[0.0, 0, 16, 32]])
    p = 1 * 4 + 0  # row y = 12, column x = 4
    assert matched[0, p] == 0 and reg[0, p].tolist() == [4, 12, 12, 20]
    assert ctr[0, p] == pytest.approx(np.sqrt(0.2))


def test_smallest_area_wins_and_edges_follow_the_inside_flag() -> None:
    """Two GTs contain (12, 12); the smaller wins. A GT whose left side is x = 12 holds
    the locations at x = 12 only with inside='inclusive'."""
    matched, _, _ = _targets([[0.0, 0, 32, 32], [8.0, 8, 16, 16]])
    assert matched[0, 1 * 4 + 1] == 1
    edge = [[12.0, 0, 32, 32]]
    assert _targets(edge)[0][0, 1] == -1
    assert _targets(edge, inside="inclusive")[0][0, 1] == 0
