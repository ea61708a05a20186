"""atss_assignment: each convention split and classic mistake of ATSS is caught by the suite
with a diagnosis; a correct NumPy implementation passes. Plus the rules on hand-made
inputs."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.verify import Verdict, verify
from suites.atss_assignment import MARGINS, SUITE, AtssOptions, atss_assignment, check

Fn = Callable[..., Any]


def atss_with(mistake: str = "") -> Fn:
    """A per-GT NumPy ATSS with at most one deliberate mistake."""

    def run(anchors: Any, level_sizes: Any, gt_boxes: Any, k: int, opts: AtssOptions) -> Any:
        dtype = check(anchors, level_sizes, gt_boxes, k)
        work = np.float32 if mistake == "float32" else np.float64
        a = anchors.astype(work)
        ca = np.stack([(a[:, 0] + a[:, 2]) / 2, (a[:, 1] + a[:, 3]) / 2], axis=1)
        starts = np.concatenate([[0], np.cumsum(level_sizes)])
        ddof = 1 - opts.ddof if mistake == "ddof_swapped" else opts.ddof
        inside_rule = {"margin_as_strict": "strict"}.get(mistake, opts.center_inside)
        assigned = np.full((len(gt_boxes), len(a)), -1, dtype=np.int64)
        thresholds = np.zeros(gt_boxes.shape[:2])
        for b in range(len(gt_boxes)):
            g = gt_boxes[b].astype(work)
            iw = np.minimum(g[:, None, 2], a[None, :, 2]) - np.maximum(g[:, None, 0], a[None, :, 0])
            ih = np.minimum(g[:, None, 3], a[None, :, 3]) - np.maximum(g[:, None, 1], a[None, :, 1])
            inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
            union = (
                ((g[:, 2] - g[:, 0]) * (g[:, 3] - g[:, 1]))[:, None]
                + ((a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]))[None, :]
                - inter
            )
            iou = inter / union
            best = np.full(len(a), -np.inf)
            for j in range(len(g)):
                cg = (g[j, :2] + g[j, 2:]) / 2
                d2 = ((ca - cg) ** 2).sum(axis=1)
                if mistake == "global_top_k":
                    cand = np.argsort(d2, kind="stable")[: k * (len(starts) - 1)]
                elif mistake == "ties_higher_index":
                    cand = np.concatenate([e - 1 - np.argsort(d2[s:e][::-1], kind="stable")[:k]
                                           for s, e in pairwise(starts)])  # fmt: skip
                else:
                    cand = np.concatenate([s + np.argsort(d2[s:e], kind="stable")[:k]
                                           for s, e in pairwise(starts)])  # fmt: skip
                v = iou[j, cand]
                std = (
                    np.sqrt(((v - v.mean()) ** 2).sum() / (v.size - ddof))
                    if v.size > ddof
                    else np.nan
                )
                thr = v.mean() + std
                thresholds[b, j] = thr
                pos = v > thr if mistake == "strict_threshold" else v >= thr
                if inside_rule != "off" and mistake != "no_inside_test":
                    c = ca[cand]
                    ltrb = np.stack([c[:, 0] - g[j, 0], c[:, 1] - g[j, 1], g[j, 2] - c[:, 0],
                                     g[j, 3] - c[:, 1]], axis=1)  # fmt: skip
                    pos &= ltrb.min(axis=1) > MARGINS[inside_rule]
                for i in cand[pos]:
                    take = iou[j, i] > best[i]
                    if mistake == "first_gt_keeps":
                        take = best[i] == -np.inf
                    elif mistake == "last_gt_on_ties":
                        take = iou[j, i] >= best[i]
                    if take:
                        best[i], assigned[b, i] = iou[j, i], j
        if mistake == "first_block_only":
            assigned[:, 256:] = -1
        if mistake == "empty_shape" and gt_boxes.shape[1] == 0:
            thresholds = np.zeros((len(gt_boxes),))
        if mistake == "writes_into_input":
            gt_boxes[...] = 0.0
        return assigned, thresholds.astype(dtype)

    return run


def verdict(fn: Fn, case_name: str) -> Verdict:
    impl = Implementation("atss_assignment", "numpy", "under_test", fn)
    return verify(SUITE, impl, SUITE.find_case(case_name))


def test_a_correct_implementation_passes_every_verify_case() -> None:
    for c in SUITE.cases:
        v = verdict(atss_with(), c.name)
        assert v.status == "pass", (c.name, v.detail)


# mistake -> (a case it passes, a case it fails, words the diagnosis contains)
MISTAKES = {
    # np.std's default ddof=0 against torch's unbiased std (the reference)
    "ddof_swapped": ("no_gt", "random_f64", "thresholds"),
    # the centre-inside test: missing, or > 0 in place of the reference's > 0.01
    "no_inside_test": ("no_inside_test", "random_f64", "assigned"),
    "margin_as_strict": ("random_f64", "margin_inside", "assigned"),
    # k nearest per level, not over all levels; equal distances: lower index
    "global_top_k": ("no_gt", "random_f64", "thresholds"),
    "ties_higher_index": ("random_f64", "distance_ties", "differ"),
    # IoU >= threshold (one candidate with ddof=0: threshold = its IoU)
    "strict_threshold": ("random_f64", "one_candidate_ddof_0", "assigned"),
    # an anchor claimed twice: the higher IoU, equal IoUs the lower GT
    "last_gt_on_ties": ("random_f64", "claimed_twice", "assigned"),
    "first_gt_keeps": ("no_gt", "random_f64", "assigned"),
    "float32": ("random", "random_f64", "thresholds"),
    "first_block_only": ("random_f64", "multi_block", "assigned"),
    "empty_shape": ("random_f64", "no_gt", "shape"),
    "writes_into_input": ("no_gt", "random_f64", "input"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_each_classic_mistake_is_caught_where_it_matters(mistake: str) -> None:
    passes, fails, words = MISTAKES[mistake]
    if mistake != "writes_into_input":
        v = verdict(atss_with(mistake), passes)
        assert v.status == "pass", (mistake, passes, v.detail)
    v = verdict(atss_with(mistake), fails)
    assert v.status in ("fail", "error") and words in v.detail, (mistake, v.status, v.detail)


def _one_level(gt: list[float], k: int, **options: Any) -> Any:
    """Four 10 x 10 anchors side by side along x (centres 5, 15, 25, 35; y centre 5)."""
    anchors = np.array([[0.0, 0, 10, 10], [10, 0, 20, 10], [20, 0, 30, 10], [30, 0, 40, 10]])
    return atss_assignment(anchors, np.array([4]), np.array([[gt]]), k, AtssOptions(**options))


def test_threshold_is_mean_plus_unbiased_std_of_the_candidates() -> None:
    """GT (0, 0, 20, 10): IoUs 0.5, 0.5, 0, 0; its centre (10, 5) is nearest anchors 0, 1
    (distance 5), then 2 (15). k = 3: IoUs (0.5, 0.5, 0) -> 1/3 + 0.2887 (ddof 1) or
    1/3 + 0.2357 (ddof 0), above 0.5: no positive. k = 2: threshold exactly 0.5 (std 0),
    and IoU >= threshold makes both positive (centres inside)."""
    assigned, thr = _one_level([0.0, 0, 20, 10], 3)
    assert thr[0, 0] == pytest.approx(1 / 3 + np.std([0.5, 0.5, 0.0], ddof=1))
    assert (assigned == -1).all()
    _, thr0 = _one_level([0.0, 0, 20, 10], 3, ddof=0)
    assert thr0[0, 0] == pytest.approx(1 / 3 + np.std([0.5, 0.5, 0.0]))
    assigned, thr = _one_level([0.0, 0, 20, 10], 2)
    assert thr[0, 0] == 0.5 and assigned[0].tolist() == [0, 0, -1, -1]


def test_the_centre_margin_and_a_single_candidate() -> None:
    """GT (4.995, 0, 15, 10), centre x 9.9975: anchor 0 (centre 5) is the nearest, and the
    only candidate at k = 1. With ddof = 0 the threshold is its own IoU, so it is positive
    exactly when its centre counts as inside: 0.005 from the edge passes > 0 but not the
    reference's > 0.01. With ddof = 1 the std of one value is NaN: nothing is positive."""
    gt = [4.995, 0.0, 15.0, 10.0]
    assert _one_level(gt, 1, ddof=0)[0][0].tolist() == [-1, -1, -1, -1]
    assert _one_level(gt, 1, ddof=0, center_inside="strict")[0][0].tolist() == [0, -1, -1, -1]
    assigned, thr = _one_level(gt, 1, center_inside="strict")
    assert np.isnan(thr[0, 0]) and (assigned == -1).all()
