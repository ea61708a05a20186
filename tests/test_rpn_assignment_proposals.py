"""rpn_assignment_proposals: each convention split and classic mistake of the RPN's matching,
sampling and proposal filter is caught by the suite with a diagnosis; a correct NumPy
implementation passes. Plus torchvision's rules on hand-made inputs."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.spec import Case
from harness.verify import Verdict, verify
from suites.anchor_generation_box_coder import CLIP
from suites.rpn_assignment_proposals import SUITE, RpnOptions, assign, check, sample

Fn = Callable[..., Any]


def _iou(a: Any, b: Any) -> Any:
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    union = (
        ((a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]))[:, None]
        + ((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]))[None, :]
        - inter
    )
    return np.divide(inter, union, out=np.zeros_like(inter), where=union != 0)


def _nms(boxes: Any, scores: Any, thr: float, mistake: str) -> list[int]:
    iou = _iou(boxes, boxes)
    removed = np.zeros(len(scores), bool)
    kept = []
    for i in np.argsort(-scores, kind="stable"):
        if not removed[i]:
            kept.append(int(i))
            removed |= iou[i] >= thr if mistake == "nms_ge" else iou[i] > thr
    return kept


def rpn_with(mistake: str = "") -> Fn:
    """A NumPy RPN target and proposal builder with at most one deliberate mistake."""

    def run(
        anchors: Any,
        sizes: Any,
        gt_boxes: Any,
        objectness: Any,
        deltas: Any,
        keys: Any,
        H: float,
        W: float,
        fg: float,
        bg: float,
        batch: int,
        fraction: float,
        pre: int,
        post: int,
        nms: float,
        score_t: float,
        min_size: float,
        opts: RpnOptions,
    ) -> Any:
        dtype = check(anchors, sizes, gt_boxes, objectness, deltas, keys, H, W, fg, bg, batch,
                      fraction, pre, post, nms, score_t, min_size)  # fmt: skip
        work = np.float32 if mistake == "float32" else np.float64
        a = anchors.astype(work)
        starts = np.concatenate([[0], np.cumsum(sizes)])
        outs: list[list[Any]] = [[] for _ in range(6)]
        low = opts.low_quality
        if mistake == "low_quality_swapped":
            low = {"own_best": "gt_best", "gt_best": "own_best"}.get(low, low)
        for b in range(len(gt_boxes)):
            gt = gt_boxes[b].astype(work)
            iou = _iou(gt, a)
            if mistake == "fg_strict" and len(gt):
                iou = np.where(iou == fg, np.nextafter(fg, 0), iou)
            if mistake == "bg_inclusive" and len(gt):
                iou = np.where(iou == bg, np.nextafter(bg, 0), iou)
            if mistake == "only_argmax_anchor" and len(gt) and low != "off":
                matched = assign(iou, fg, bg, "off")
                first = iou.argmax(axis=1)
                matched[first] = iou.argmax(axis=0)[first]
            else:
                matched = assign(iou, fg, bg, low)
            if mistake == "first_block_only":
                matched[256:] = -1
            labels = np.where(matched >= 0, 1, np.where(matched == -1, 0, -1))
            k = keys[b] if mistake != "keys_ignored" else np.zeros(len(labels))
            sp, sn = sample(
                labels, k, batch, fraction, opts.negatives_fill != (mistake == "fill_swapped")
            )
            obj, d = objectness[b].astype(work), deltas[b].astype(work)
            cand = []
            if mistake == "global_top_k":
                picks = [np.argsort(-obj, kind="stable")[: pre * (len(starts) - 1)]]
            else:
                picks = [s + np.argsort(-obj[s:e], kind="stable")[:pre]
                         for s, e in pairwise(starts)]  # fmt: skip
            parts = []
            for top in picks:
                lvl = np.searchsorted(starts, top, side="right") - 1
                p, c = a[top], d[top]
                w, h = p[:, 2] - p[:, 0], p[:, 3] - p[:, 1]
                cx, cy = c[:, 0] * w + p[:, 0] + 0.5 * w, c[:, 1] * h + p[:, 1] + 0.5 * h
                clip = np.inf if mistake == "no_clamp" else CLIP
                pw, ph = (
                    np.exp(np.minimum(c[:, 2], clip)) * w,
                    np.exp(np.minimum(c[:, 3], clip)) * h,
                )
                box = np.stack([cx - pw / 2, cy - ph / 2, cx + pw / 2, cy + ph / 2], axis=1)
                wide = (box[:, 2] - box[:, 0] >= min_size) & (box[:, 3] - box[:, 1] >= min_size)
                box[:, 0::2] = np.clip(box[:, 0::2], 0, W)
                box[:, 1::2] = np.clip(box[:, 1::2], 0, H)
                if mistake != "size_before_clip":
                    wide = (box[:, 2] - box[:, 0] >= min_size) & (box[:, 3] - box[:, 1] >= min_size)
                score = 1 / (1 + np.exp(-obj[top]))
                s_test = obj[top] if mistake == "score_on_logits" else score
                ok = wide & (s_test >= score_t)
                parts.append((box[ok], score[ok], lvl[ok], top[ok]))
            box, score, lvl, top = (np.concatenate(x) for x in zip(*parts, strict=True))
            groups = [np.ones(len(lvl), bool)] if mistake == "nms_across_levels" else [
                lvl == k for k in range(len(starts) - 1)]  # fmt: skip
            for g in groups:
                idx = np.flatnonzero(g)
                for i in _nms(box[idx], score[idx], nms, mistake):
                    j = idx[i]
                    cand.append((-score[j], lvl[j], top[j], box[j]))
            cand.sort(key=lambda t: t[:3])
            props, scores = np.full((post, 4), np.nan), np.full(post, np.nan)
            for n, cnd in enumerate(cand[:post]):
                props[n], scores[n] = cnd[3], -cnd[0]
            if mistake == "empty_shape" and gt_boxes.shape[1] == 0:
                props = props[:0]
            for out, v in zip(outs, (labels, matched, sp, sn, props, scores), strict=True):
                out.append(v)
        res = [np.stack(o) for o in outs]
        if mistake == "writes_into_input":
            keys[...] = 0.0
        return (res[0].astype(np.int64), res[1].astype(np.int64), res[2], res[3],
                res[4].astype(dtype), res[5].astype(dtype))  # fmt: skip

    return run


def verdict(fn: Fn, case_name: str) -> Verdict:
    impl = Implementation("rpn_assignment_proposals", "numpy", "under_test", fn)
    return verify(SUITE, impl, SUITE.find_case(case_name))


def test_a_correct_implementation_passes_every_verify_case() -> None:
    for c in SUITE.cases:
        v = verdict(rpn_with(), c.name)
        assert v.status == "pass", (c.name, v.detail)


# mistake -> (a case it passes, a case it fails, words the diagnosis contains)
MISTAKES = {
    # torchvision rematches to the anchor's own best GT, not to the GT it is best for
    "low_quality_swapped": ("random_f64", "pairs", "matched"),
    # every anchor tied at a GT's highest IoU is rematched, not just the argmax
    "only_argmax_anchor": ("no_low_quality", "ties_at_gt_best", "labels"),
    # IoU >= fg is a match and IoU < bg is negative (IoUs of exactly 0.5 and 0.25)
    "fg_strict": ("random_f64", "exact_thresholds", "matched"),
    "bg_inclusive": ("random_f64", "exact_thresholds", "labels"),
    # the sampler: negatives fill up the batch; the injected keys choose
    "fill_swapped": ("all_ignored", "random_f64", "sampled_neg"),
    "keys_ignored": ("all_ignored", "random_f64", "sampled"),
    # proposals: top-k per level, NMS per level, clamp before exp, size after the clip,
    # the score threshold on probabilities
    "global_top_k": ("random_f64", "pre_top_40", "proposal"),
    "nms_across_levels": ("one_level", "random_f64", "proposal"),
    "no_clamp": ("random_f64", "huge_deltas", "proposal"),
    "size_before_clip": ("everything_filtered", "random_f64", "proposal"),
    "score_on_logits": ("everything_filtered", "random_f64", "proposal"),
    "float32": ("random", "near_threshold_f64", "matched"),
    "first_block_only": ("one_level", "multi_block", "matched"),
    "empty_shape": ("random_f64", "no_gt", "shape"),
    "writes_into_input": ("everything_filtered", "random_f64", "input"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_each_classic_mistake_is_caught_where_it_matters(mistake: str) -> None:
    passes, fails, words = MISTAKES[mistake]
    if mistake != "writes_into_input":
        v = verdict(rpn_with(mistake), passes)
        assert v.status == "pass", (mistake, passes, v.detail)
    v = verdict(rpn_with(mistake), fails)
    assert v.status in ("fail", "error") and words in v.detail, (mistake, v.status, v.detail)


# ---- torchvision's rules on hand-made inputs -----------------------------------------------


def test_matcher_thresholds_and_the_low_quality_rematch() -> None:
    """Anchor 0 has IoU 0.5 with GT 0 (between), anchor 1 IoU 0.25 (below): the low-quality
    rematch makes anchor 0 positive (GT 0's best) and leaves anchor 1 at -1."""
    iou = np.array([[0.5, 0.25, 0.0]])
    assert assign(iou, 0.7, 0.3, "own_best").tolist() == [0, -1, -1]
    assert assign(iou, 0.7, 0.3, "off").tolist() == [-2, -1, -1]
    assert assign(iou, 0.5, 0.25, "off").tolist() == [0, -2, -1]


def test_a_gt_without_overlap_rematches_every_anchor_as_torchvision_does() -> None:
    """A zero-area GT has highest IoU 0, which every anchor attains: all are rematched to
    their own best GT (torchvision's documented tie rule, taken literally)."""
    iou = np.array([[0.9, 0.1, 0.0], [0.0, 0.0, 0.0]])
    assert assign(iou, 0.7, 0.3, "own_best").tolist() == [0, 0, 0]


def test_gt_best_takes_the_gt_the_anchor_is_best_for() -> None:
    """Anchor 1 is GT 1's best (0.6) but its own best is GT 0 (0.65)."""
    iou = np.array([[0.9, 0.65, 0.0], [0.1, 0.6, 0.2]])
    assert assign(iou, 0.7, 0.3, "own_best").tolist() == [0, 0, -1]
    assert assign(iou, 0.7, 0.3, "gt_best").tolist() == [0, 1, -1]


def test_sampler_caps_positives_and_fills_with_negatives() -> None:
    labels = np.array([1, 1, 1, 0, 0, 0, 0, -1])
    keys = np.array([0.9, 0.1, 0.5, 0.3, 0.2, 0.8, 0.1, 0.0])
    sp, sn = sample(labels, keys, 4, 0.5, True)
    assert np.flatnonzero(sp).tolist() == [1, 2] and np.flatnonzero(sn).tolist() == [4, 6]
    sp, sn = sample(np.array([1, 0, 0, 0, 0]), np.zeros(5), 4, 0.5, True)
    assert sp.sum() == 1 and np.flatnonzero(sn).tolist() == [1, 2, 3]  # equal keys: index
    sp, sn = sample(np.array([1, 0, 0, 0, 0]), np.zeros(5), 4, 0.5, False)
    assert sn.sum() == 2


def test_low_threshold_above_high_raises() -> None:
    case = SUITE.find_case("random_f64")
    assert isinstance(case, Case)
    inputs = dict(SUITE.make_inputs(case))
    inputs["bg_iou_thresh"] = 0.9
    with pytest.raises(ValueError, match="bg_iou_thresh"):
        check(*inputs.values())
