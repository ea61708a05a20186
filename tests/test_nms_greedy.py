"""nms_greedy: the suite catches each classic slip of greedy NMS.

Each wrong variant is the oracle's loop with one plausible mistake; verify must flag it on
the case that exposes it, while the same loop without the mistake passes. Inputs come only
from the suite's seeded cases.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from harness.registry import Implementation
from harness.spec import Case
from harness.verify import Verdict, verify
from suites.nms_greedy import BATCHED_SUITE, SUITE, NmsOptions, nms_greedy_batched

Fn = Callable[[Any, Any, float, NmsOptions], Any]


def run(fn: Fn, case_name: str) -> Verdict:
    impl = Implementation("nms_greedy", "numpy", fn.__name__, fn)
    case = SUITE.find_case(case_name)
    assert isinstance(case, Case)
    return verify(SUITE, impl, case)


def greedy(boxes: Any, scores: Any, t: float, opts: NmsOptions, bug: str = "") -> Any:
    """Greedy NMS in ``work`` precision (float64 unless the slip is float32 arithmetic);
    ``bug`` names the one mistake it makes."""
    work = np.float32 if bug == "float32_iou" else np.float64
    b = np.asarray(boxes, dtype=work).reshape(-1, 4)
    s = np.asarray(scores, dtype=np.float64)
    t = work(t)
    order = np.arange(len(s)) if bug == "unsorted" else np.argsort(-s, kind="stable")
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    suppressed = np.zeros(len(s), dtype=bool)
    ge = (opts.suppress_if == "ge") != (bug == "gt_ge_swapped")
    keep = []
    for rank, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(i)
        if bug == "first_block_only" and rank >= 256:  # a tiled sweep that stops after a block
            continue
        iw = np.clip(np.minimum(b[i, 2], b[:, 2]) - np.maximum(b[i, 0], b[:, 0]), 0, None)
        ih = np.clip(np.minimum(b[i, 3], b[:, 3]) - np.maximum(b[i, 1], b[:, 1]), 0, None)
        inter = iw * ih
        union = area[i] + area - inter
        with np.errstate(invalid="ignore", divide="ignore"):
            iou = np.where(union > 0, inter / union, work(0))
        suppressed |= iou >= t if ge else iou > t
    out = np.array(keep, dtype=np.int64)
    if bug == "float_when_empty" and not len(out):
        return np.zeros((0,), dtype=np.float64)
    return out


def variant(bug: str) -> Fn:
    def fn(boxes: Any, scores: Any, t: float, opts: NmsOptions) -> Any:
        return greedy(boxes, scores, t, opts, bug)

    fn.__name__ = bug or "correct"
    return fn


def test_the_loop_without_a_slip_passes() -> None:
    for name in ("clustered_f32", "clustered_f64", "clustered_ge_f64", "multi_block", "empty",
                 "iou_exactly_half_f64", "iou_exactly_half_ge_f32", "equal_scores_levels",
                 "near_threshold_f64_f32ulps", "zero_area_boxes"):  # fmt: skip
        v = run(variant(""), name)
        assert v.status == "pass", (name, v.detail)


def test_each_slip_is_caught_on_the_case_that_exposes_it() -> None:
    slips = {
        # IoU exactly 1/2 at t = 1/2: torchvision and cv2 keep it, ">=" drops it (and back)
        "gt_ge_swapped": ("iou_exactly_half_f64", "iou_exactly_half_ge_f32"),
        # float64 pairs a few float32 ulps from t = 0.7: float32 IoUs fall on the wrong side
        "float32_iou": ("near_threshold_f64_f32ulps",),
        "unsorted": ("clustered_f32",),  # visiting boxes in index order, not by score
        "first_block_only": ("multi_block",),  # right for the first 256 kept boxes only
    }
    for bug, names in slips.items():
        for name in names:
            v = run(variant(bug), name)
            assert v.status == "fail", (bug, name, v.detail)


def test_the_slips_that_only_show_on_their_case_pass_elsewhere() -> None:
    for bug in ("gt_ge_swapped", "float32_iou", "first_block_only"):
        assert run(variant(bug), "clustered_f32").status == "pass", bug


def test_a_float_empty_answer_is_caught() -> None:
    v = run(variant("float_when_empty"), "empty")
    assert v.status == "fail" and "int64" in v.detail, v.detail


# ---- the batched (class-aware) mode ------------------------------------------------------------


def run_batched(fn: Any, case_name: str) -> Verdict:
    impl = Implementation("nms_greedy.batched", "numpy", fn.__name__, fn)
    case = BATCHED_SUITE.find_case(case_name)
    assert isinstance(case, Case)
    return verify(BATCHED_SUITE, impl, case)


def test_batched_nms_must_not_suppress_across_classes() -> None:
    def class_aware(boxes: Any, scores: Any, idxs: Any, t: float, opts: NmsOptions) -> Any:
        return nms_greedy_batched(boxes, scores, idxs, t, opts)

    def class_blind(boxes: Any, scores: Any, idxs: Any, t: float, opts: NmsOptions) -> Any:
        return greedy(boxes, scores, t, opts)

    for name in ("clustered_f32", "identical_boxes_across_classes", "sparse_ids_f64"):
        assert run_batched(class_aware, name).status == "pass", name
        v = run_batched(class_blind, name)
        assert v.status == "fail", (name, v.detail)
    assert run_batched(class_blind, "one_class").status == "pass"  # one class: plain NMS


def test_batched_output_is_by_descending_score_across_classes() -> None:
    """Each class's kept boxes concatenated class after class: a valid set, wrong order."""

    def by_class(boxes: Any, scores: Any, idxs: Any, t: float, opts: NmsOptions) -> Any:
        kept = nms_greedy_batched(boxes, scores, idxs, t, opts)
        return kept[np.argsort(np.asarray(idxs)[kept], kind="stable")]

    v = run_batched(by_class, "clustered_f64")
    assert v.status == "fail", v.detail
