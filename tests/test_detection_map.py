"""detection_map: each convention split and classic mistake of COCO and VOC evaluation is
caught by the suite with a diagnosis; a correct implementation passes. Plus the rules on
hand-made inputs (duplicates, crowds, the VOC no-fallback, ties, empty classes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.verify import Verdict, verify
from suites.detection_map import (
    AREA_RANGES,
    RECALL_11,
    RECALL_101,
    SUITE,
    MapOptions,
    check,
    detection_map,
    thresholds,
)

Fn = Callable[..., Any]


def _iou(d: Any, g: Any, crowd: Any, one: float) -> Any:
    iw = np.minimum(d[:, None, 2], g[None, :, 2]) - np.maximum(d[:, None, 0], g[None, :, 0])
    ih = np.minimum(d[:, None, 3], g[None, :, 3]) - np.maximum(d[:, None, 1], g[None, :, 1])
    inter = np.clip(iw + one, 0, None) * np.clip(ih + one, 0, None)
    ad = (d[:, 2] - d[:, 0] + one) * (d[:, 3] - d[:, 1] + one)
    ag = (g[:, 2] - g[:, 0] + one) * (g[:, 3] - g[:, 1] + one)
    union = np.where(crowd[None, :], ad[:, None], ad[:, None] + ag[None, :] - inter)
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _ap(tp: Any, fp: Any, npos: int, interp: str, mistake: str) -> float:
    ctp, cfp = np.cumsum(tp, dtype=np.float64), np.cumsum(fp, dtype=np.float64)
    rec = ctp / npos
    prec = np.divide(ctp, ctp + cfp, out=np.zeros_like(ctp), where=ctp + cfp > 0)
    if rec.size == 0:
        return 0.0
    env = prec if mistake == "no_envelope" else np.maximum.accumulate(prec[::-1])[::-1]
    if mistake == "interp_swapped":
        interp = {"voc11": "all_point", "all_point": "voc11"}.get(interp, interp)
    if interp == "all_point":
        steps = np.diff(np.concatenate([[0.0], rec]))
        return float(np.sum(steps * env))
    points = RECALL_101 if interp == "coco101" else RECALL_11
    at = np.searchsorted(rec, points, side="right" if mistake == "recall_side_right" else "left")
    return float(np.mean(np.where(at < rec.size, env[np.minimum(at, rec.size - 1)], 0.0)))


def map_with(mistake: str = "") -> Fn:
    """A NumPy COCO/VOC evaluator with at most one deliberate mistake."""

    def run(db: Any, ds: Any, dl: Any, di: Any, gb: Any, gl: Any, gi: Any, crowd: Any,
            areas: Any, n_img: int, n_cls: int, opts: MapOptions) -> Any:  # fmt: skip
        check(db, ds, dl, di, gb, gl, gi, crowd, areas, n_img, n_cls)
        work = np.float32 if mistake == "float32" else np.float64
        b, g = db.astype(work), gb.astype(work)
        coco = opts.protocol == "coco"
        one = 1.0 if opts.pixel_inclusive != (mistake == "pixel_flag_ignored") else 0.0
        lo, hi = AREA_RANGES[opts.area_range]
        ts = thresholds(opts).astype(work)
        ge = (opts.match_if == "ge") != (mistake == "match_if_swapped")
        g_area = (g[:, 2] - g[:, 0]) * (g[:, 3] - g[:, 1]) if mistake == "box_area" else areas
        ignore = crowd | (coco & ((g_area < lo) | (g_area > hi)))
        if mistake == "crowd_as_regular":
            ignore, crowd = ignore & ~crowd, np.zeros_like(crowd)
        npos = np.bincount(gl[~ignore | (mistake == "difficult_counted")], minlength=n_cls)
        rows: list[list[Any]] = [[] for _ in range(n_cls)]
        order = np.lexsort((np.arange(ds.size), -ds))
        if mistake == "ties_higher_index_first":
            order = np.lexsort((-np.arange(ds.size), -ds))
        if opts.max_dets and mistake == "max_dets_per_class":
            order = np.concatenate([order[dl[order] == c][: opts.max_dets] for c in range(n_cls)])
        for c in range(n_cls):
            for img in range(n_img):
                d = order[(dl[order] == c) & (di[order] == img)]
                if opts.max_dets and mistake != "max_dets_per_class":
                    d = d[: opts.max_dets]
                gs = np.flatnonzero((gl == c) & (gi == img))
                if coco:
                    gs = gs[np.argsort(ignore[gs], kind="stable")]
                ious = _iou(b[d], g[gs], crowd[gs] & coco, one)
                a_d = (b[d, 2] - b[d, 0] + one) * (b[d, 3] - b[d, 1] + one)
                flags = np.zeros((len(ts), d.size, 2), bool)
                for k, t in enumerate(ts):
                    taken = np.zeros(gs.size, bool)
                    for n in range(d.size):
                        if mistake == "first_block_only" and d[n] >= 256:
                            flags[k, n] = (False, True)
                            continue
                        ok = (ious[n] >= t) if ge else (ious[n] > t)
                        if coco and mistake != "no_fallback_in_coco":
                            free = ok & ~(taken & ~crowd[gs])
                            reg = free & ~ignore[gs]
                            pick = reg if reg.any() and mistake != "ignored_by_iou" else free
                            if not pick.any():
                                flags[k, n] = (False, lo <= a_d[n] <= hi)
                                continue
                            v = np.where(pick, ious[n], -1.0)
                            m = gs.size - 1 - int(np.argmax(v[::-1]))
                            if mistake == "first_of_equal_ious":
                                m = int(np.argmax(v))
                            taken[m] = True
                            flags[k, n] = (not ignore[gs[m]], False)
                            continue
                        if gs.size == 0:
                            flags[k, n] = (False, True)
                            continue
                        m = int(np.argmax(ious[n]))
                        if mistake == "voc_fallback":
                            free = ok & ~taken & ~ignore[gs]
                            if free.any():
                                m = int(np.argmax(np.where(free, ious[n], -1.0)))
                        if not ok[m] or (ignore[gs[m]] and mistake == "difficult_as_fp"):
                            flags[k, n] = (False, True)
                        elif not ignore[gs[m]]:  # difficult: ignored, neither
                            flags[k, n] = (not taken[m], taken[m])
                            taken[m] = True
                rows[c] += [(-ds[j], img, j, flags[:, n]) for n, j in enumerate(d)]
        ap = np.full(n_cls, np.nan)
        for c in range(n_cls):
            if npos[c] == 0 and mistake != "no_gt_class_is_zero":
                continue
            key = (lambda r: (r[0], r[1], r[2])) if coco else (lambda r: (r[0], r[2]))
            if mistake == "ties_higher_index_first":
                key = lambda r: (r[0], -r[2])  # noqa: E731
            rs = sorted(rows[c], key=key)
            f = np.array([r[3] for r in rs]).reshape(-1, len(ts), 2)
            per_t = [
                _ap(f[:, k, 0], f[:, k, 1], int(npos[c]), opts.ap_interp, mistake)
                for k in range(len(ts))
            ]
            ap[c] = np.mean(per_t) if npos[c] else 0.0
        kept = ap[~np.isnan(ap)]
        m_ap = np.asarray(kept.mean() if kept.size else np.nan)
        if mistake == "empty_shape" and ds.size == 0:
            ap = ap[:0]
        if mistake == "writes_into_input":
            out = areas[: ap.size] if areas.size >= ap.size else ap
            out[...] = ap
            ap = out.copy()
        return ap, m_ap

    return run


def verdict(fn: Fn, case_name: str) -> Verdict:
    impl = Implementation("detection_map", "numpy", "under_test", fn)
    return verify(SUITE, impl, SUITE.find_case(case_name))


def test_a_correct_implementation_passes_every_verify_case() -> None:
    for c in SUITE.cases:
        v = verdict(map_with(), c.name)
        assert v.status == "pass", (c.name, v.detail)


# mistake -> (a case it passes, a case it fails, words the diagnosis contains)
MISTAKES = {
    # COCO takes the best *unmatched* GT; VOC looks only at its best GT (no fallback)
    "no_fallback_in_coco": ("voc_all_point", "coco_pairs", "elements differ"),
    "voc_fallback": ("coco_random", "voc_pairs", "elements differ"),
    # IoU >= t (COCO, devkit) against IoU > t (voc_eval.py), on IoUs of exactly 0.5, 0.75
    "match_if_swapped": ("coco_random", "coco_exact_ge", "elements differ"),
    # crowds: many matches, intersection over the detection's area, ignored
    "crowd_as_regular": ("coco_random", "coco_crowd", "elements differ"),
    # non-ignored GTs first: an ignored one of higher IoU must not win over a regular match
    "ignored_by_iou": ("coco_random", "coco_pairs", "elements differ"),
    # area ranges read the annotation area, not the box's
    "box_area": ("coco_random", "coco_medium", "elements differ"),
    # maxDets per image and class, not per class over all images
    "max_dets_per_class": ("coco_random", "coco_max_dets_10", "elements differ"),
    # difficult boxes: not positives, and a detection on one is ignored, not a FP
    "difficult_counted": ("coco_random", "voc_difficult", "elements differ"),
    "difficult_as_fp": ("coco_random", "voc_difficult", "elements differ"),
    # interpolation: the envelope, searchsorted 'left', 11 points vs all points
    "no_envelope": ("voc_11_point", "coco_random", "elements differ"),
    "recall_side_right": ("voc_all_point", "coco_random", "elements differ"),
    "interp_swapped": ("coco_random", "voc_11_point", "elements differ"),
    # +1 widths ignored (or applied under the continuous convention)
    "pixel_flag_ignored": ("coco_exact_ge", "coco_inclusive", "elements differ"),
    # tied scores: pycocotools' stable sorts, lower index first
    "ties_higher_index_first": ("coco_random", "coco_ties", "elements differ"),
    # a class without GT is left out of mAP, not counted as 0
    "no_gt_class_is_zero": ("coco_random", "class_without_gt", "elements differ"),
    "float32": ("coco_random_f32", "near_threshold_f64", "elements differ"),
    "first_block_only": ("coco_random", "multi_block", "elements differ"),
    "empty_shape": ("coco_random", "no_detections", "shape"),
    "writes_into_input": ("no_ground_truth", "coco_random", "input"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_each_classic_mistake_is_caught_where_it_matters(mistake: str) -> None:
    passes, fails, words = MISTAKES[mistake]
    v = verdict(map_with(mistake), passes)
    assert v.status == "pass", (mistake, passes, v.detail)
    v = verdict(map_with(mistake), fails)
    assert v.status in ("fail", "error") and words in v.detail, (mistake, v.status, v.detail)


# ---- the rules on hand-made inputs ----------------------------------------------------------


def _run(dets: list[tuple[list[float], float, int]], gts: list[tuple[list[float], int]],
         crowd: list[bool] | None = None, **options: Any) -> Any:  # fmt: skip
    """One class; dets (box, score, image), gts (box, image)."""
    db = np.array([d[0] for d in dets], dtype=np.float64).reshape(-1, 4)
    gb = np.array([g[0] for g in gts], dtype=np.float64).reshape(-1, 4)
    n_img = 1 + max([d[2] for d in dets] + [g[1] for g in gts])
    return detection_map(
        db, np.array([d[1] for d in dets]), np.zeros(len(dets), np.int64),
        np.array([d[2] for d in dets], np.int64), gb, np.zeros(len(gts), np.int64),
        np.array([g[1] for g in gts], np.int64), np.array(crowd or [False] * len(gts)),
        (gb[:, 2] - gb[:, 0]) * (gb[:, 3] - gb[:, 1]), n_img, 1, MapOptions(**options),
    )  # fmt: skip


def test_a_duplicate_detection_is_a_false_positive() -> None:
    """Two detections on one GT: P = 1, 1/2 at R = 1; the envelope keeps 1 -> AP 1 (COCO
    at 0.5); a third, earlier, unrelated FP puts the first hit at precision 1/2."""
    box = [0.0, 0.0, 10.0, 10.0]
    ap, _ = _run([(box, 0.9, 0), (box, 0.8, 0)], [(box, 0)], iou_thresholds="0.5")
    assert ap[0] == pytest.approx(1.0)
    ap, _ = _run([([50, 50, 60, 60], 0.95, 0), (box, 0.9, 0), (box, 0.8, 0)], [(box, 0)],
                 iou_thresholds="0.5")  # fmt: skip
    assert ap[0] == pytest.approx(0.5)


def test_voc_does_not_fall_back_to_the_second_best_gt() -> None:
    """GT a and b overlap the second detection; its best, a, is already taken: VOC calls it
    a FP (all-point AP 0.5), COCO matches it to b (AP 1)."""
    a, b = [0.0, 0.0, 10.0, 10.0], [2.0, 0.0, 12.0, 10.0]
    dets = [(a, 0.9, 0), ([1.0, 0.0, 11.0, 10.0], 0.8, 0)]
    voc = _run(dets, [(a, 0), (b, 0)], protocol="voc", iou_thresholds="0.5",
               ap_interp="all_point")  # fmt: skip
    assert voc[0][0] == pytest.approx(0.5)
    assert _run(dets, [(a, 0), (b, 0)], iou_thresholds="0.5")[0][0] == pytest.approx(1.0)


def test_a_crowd_absorbs_many_detections_and_counts_for_nothing() -> None:
    """Three detections inside one crowd region (IoU over the union small, over the
    detection's area 1) are all ignored; the class's only positive is found -> AP 1."""
    region, gt = [0.0, 0.0, 100.0, 100.0], [200.0, 200.0, 210.0, 210.0]
    dets = [([0.0, 0, 10, 10], 0.9, 0), ([20.0, 20, 30, 30], 0.8, 0),
            ([40.0, 40, 50, 50], 0.7, 0), (gt, 0.6, 0)]  # fmt: skip
    ap, m = _run(dets, [(region, 0), (gt, 0)], crowd=[True, False])
    assert ap[0] == pytest.approx(1.0) and float(m) == pytest.approx(1.0)


def test_a_class_without_ground_truth_is_nan_and_left_out() -> None:
    z = np.zeros((0, 4))
    ap, m = detection_map(
        np.array([[0.0, 0, 5, 5]]), np.array([0.5]), np.array([1]), np.array([0]),
        np.array([[0.0, 0, 5, 5]]), np.array([0]), np.array([0]), np.array([False]),
        np.array([25.0]), 1, 2, MapOptions(),
    )  # fmt: skip
    assert ap[0] == 0.0 and np.isnan(ap[1]) and float(m) == 0.0
    ap, m = detection_map(z, np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64), z,
                          np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool),
                          np.zeros(0), 1, 2, MapOptions())  # fmt: skip
    assert np.isnan(ap).all() and np.isnan(m)


def test_voc_refuses_an_area_range() -> None:
    with pytest.raises(ValueError, match="area_range"):
        MapOptions(protocol="voc", area_range="small")
