"""simota_dynamic_k: each convention split and classic mistake of YOLOX's SimOTA is caught by
the suite with a diagnosis; a correct per-GT NumPy implementation passes. Plus the rules on
hand-made inputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.verify import Verdict, verify
from suites.simota_dynamic_k import ARGS, SUITE, SimOtaOptions, geometry, simota_dynamic_k

Fn = Callable[..., Any]


def simota_with(mistake: str = "") -> Fn:
    """A per-GT NumPy SimOTA with at most one deliberate mistake."""

    def run(c: Any, s: Any, gt: Any, ious: Any, cls: Any, radius: float, q: int,
            opts: SimOtaOptions) -> Any:  # fmt: skip
        ARGS.check(c, s, gt, ious, cls, radius, q)
        work = np.float32 if mistake == "float32" else np.float64
        n_img, n_gt, n_a = gt.shape[0], gt.shape[1], len(c)
        matched = np.full((n_img, n_a), -1, dtype=np.int64)
        dyn = np.zeros((n_img, n_gt), dtype=np.int64)
        q_used = 10 if mistake == "q_fixed" else q
        for b in range(n_img):
            g = gt[b].astype(np.float64)
            in_box, in_ctr = geometry(c.astype(np.float64), s.astype(np.float64), g, radius)
            only_ctr = (opts.candidates == "center") != (mistake == "candidates_swapped")
            cand = np.flatnonzero((in_ctr if only_ctr else in_box | in_ctr).any(axis=0))
            if cand.size == 0 or n_gt == 0:
                continue
            iou = ious[b][:, cand].astype(work)
            penalty = 0.0 if mistake == "no_penalty" else 1e5
            cost = cls[b][:, cand].astype(work) - 3 * np.log(iou + work(1e-8))
            cost = cost + penalty * ~(in_box & in_ctr)[:, cand]
            top = -np.sort(-iou, axis=1)[:, : min(q_used, cand.size)].sum(axis=1)
            k = np.round(top) if mistake == "round_not_floor" else np.floor(top)
            k = k.astype(np.int64) if mistake == "no_min_one" else np.maximum(k, 1).astype(np.int64)
            dyn[b] = k
            best = np.full(cand.size, np.inf)
            for j in range(n_gt):
                order = np.argsort(cost[j], kind="stable")
                if mistake == "ties_higher_index":
                    order = cand.size - 1 - np.argsort(cost[j][::-1], kind="stable")
                for i in order[: k[j]]:
                    take = cost[j, i] < best[i]
                    if mistake == "last_gt_on_ties":
                        take = cost[j, i] <= best[i]
                    elif mistake == "first_gt_keeps":
                        take = best[i] == np.inf
                    if take:
                        best[i], matched[b, cand[i]] = cost[j, i], j
        if mistake == "first_block_only":
            matched[:, 256:] = -1
        if mistake == "empty_shape" and n_gt == 0:
            dyn = np.zeros((n_img,), dtype=np.int64)
        if mistake == "writes_into_input":
            cls[...] = 0.0
        return matched, dyn

    return run


def verdict(fn: Fn, case_name: str) -> Verdict:
    impl = Implementation("simota_dynamic_k", "numpy", "under_test", fn)
    return verify(SUITE, impl, SUITE.find_case(case_name))


def test_a_correct_implementation_passes_every_verify_case() -> None:
    for c in SUITE.cases:
        v = verdict(simota_with(), c.name)
        assert v.status == "pass", (c.name, v.detail)


# mistake -> (a case it passes, a case it fails, words the diagnosis contains)
MISTAKES = {
    "candidates_swapped": ("random_f64", "large_gts", "dynamic_k"),
    "no_penalty": ("no_gt", "random_f64", "matched"),
    "no_min_one": ("random_f64", "stray_gts", "dynamic_k"),
    "round_not_floor": ("no_gt", "random_f64", "dynamic_k"),
    "q_fixed": ("random_f64", "q_3", "dynamic_k"),
    "ties_higher_index": ("random_f64", "cost_ties", "matched"),
    "last_gt_on_ties": ("random_f64", "double_picks", "matched"),
    "first_gt_keeps": ("no_gt", "crowded", "matched"),
    "float32": ("random", "near_threshold_f64", "dynamic_k"),
    "first_block_only": ("random_f64", "multi_block", "matched"),
    "empty_shape": ("random_f64", "no_gt", "shape"),
    "writes_into_input": ("no_gt", "random_f64", "input"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_each_classic_mistake_is_caught_where_it_matters(mistake: str) -> None:
    passes, fails, words = MISTAKES[mistake]
    if mistake != "writes_into_input":
        v = verdict(simota_with(mistake), passes)
        assert v.status == "pass", (mistake, passes, v.detail)
    v = verdict(simota_with(mistake), fails)
    assert v.status in ("fail", "error") and words in v.detail, (mistake, v.status, v.detail)


def test_dynamic_k_and_the_cheaper_gt_on_a_double_pick() -> None:
    """Four anchors of stride 8 at x = 4, 12, 20, 28 (y = 4); two GTs covering all of them.
    GT 0's IoUs sum to 2.6 (k = 2), GT 1's to 0.9 (k = max(1, 0) = 1). GT 0 takes its two
    cheapest, anchors 0 and 1; GT 1 takes anchor 1 too but at a higher cost: anchor 1
    stays with GT 0."""
    c = np.array([[4.0, 4], [12, 4], [20, 4], [28, 4]])
    s = np.full(4, 8.0)
    gt = np.array([[[0.0, 0, 32, 8], [0.0, 0, 32, 8]]])
    ious = np.array([[[0.9, 0.8, 0.5, 0.4], [0.3, 0.3, 0.2, 0.1]]])
    cls = np.array([[[0.1, 0.2, 0.3, 0.4], [3.0, 0.1, 3.0, 3.0]]])
    matched, k = simota_dynamic_k(c, s, gt, ious, cls, 10.0, 10, SimOtaOptions())
    assert k.tolist() == [[2, 1]]
    assert matched.tolist() == [[0, 0, -1, -1]]


def test_ious_outside_unit_interval_raise() -> None:
    c, s, gt = np.zeros((1, 2)), np.ones(1), np.zeros((1, 1, 4))
    with pytest.raises(ValueError, match="pair_ious"):
        simota_dynamic_k(c, s, gt, np.full((1, 1, 1), 1.5), np.zeros((1, 1, 1)), 2.5, 10,
                         SimOtaOptions())  # fmt: skip
