"""Suite for detection_map: per-class average precision and mAP of box detections, with the
COCO (pycocotools) and the PASCAL VOC matching rules as declared conventions.

Detections (box, score, class, image) and ground truths (box, class, image, crowd or
difficult flag, annotation area) come as flat arrays. Per class, detections are ranked by
score and matched within their image; each IoU threshold gives a precision-recall curve and
an AP; a class's AP is the mean over thresholds, mAP the mean over classes that have a
non-ignored ground truth (the others are NaN and left out).

COCO (default, pycocotools' ``evaluateImg`` / ``accumulate``): per image and class the
detections are sorted by score (stable) and cut at ``max_dets``; ground truths that are
crowd or whose annotation area lies outside the area range are *ignored* and sorted after
the others; each detection, in score order, takes among the not yet matched ground truths
(crowds stay available) the one of highest IoU with IoU >= t, preferring non-ignored ones
(pycocotools' scan: among equal IoUs the later one in that order); a crowd IoU is
intersection over the detection's area. A detection matched to an ignored ground truth is
ignored, and so is an unmatched one whose own box area is outside the range. Classes rank
their detections by score, ties by image then input order (pycocotools' stable sorts).

VOC (py-faster-rcnn ``voc_eval`` / the devkit): per class, detections ranked by score (ties:
lower index first); each looks only at its highest-IoU ground truth of the same image (the
first among equal IoUs); difficult -> ignored; already taken -> false positive (no fallback
to the next one); else a true positive. Difficult boxes do not count as positives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import NO_NAN, NOT_INVERTED, Arg, Args, Rule, Scalar
from harness.cases import bench, case, edge, error, fuzz_cases
from harness.comparators import Close, Outputs
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance

#: Area ranges of pycocotools' Params (inclusive at both ends, on the annotation area).
AREA_RANGES = {"all": (0.0, 1e10), "small": (0.0, 32.0**2), "medium": (32.0**2, 96.0**2),
               "large": (96.0**2, 1e10)}  # fmt: skip
#: pycocotools' recall points and VOC2007's 11 points, built exactly as they build them.
RECALL_101 = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1)
RECALL_11 = np.arange(0.0, 1.1, 0.1)


@dataclass(frozen=True)
class MapOptions(Options):
    protocol: str = option("coco", "voc", meaning="the matching rules (see the conventions)")
    iou_thresholds: str = option(
        "0.50:0.95", "0.5", "0.75", meaning="IoU thresholds averaged over (COCO's ten, or one)"
    )
    ap_interp: str = option(
        "coco101",
        "all_point",
        "voc11",
        meaning="AP: mean of the precision envelope at 101 recall points (COCO), the area "
        "under the envelope (VOC2010+), or the mean of the 11 maxima at recall >= 0, 0.1, ..",
    )
    match_if: str = option(
        "ge", "gt", meaning="a match needs IoU >= t (COCO, VOC devkit) or IoU > t (voc_eval.py)"
    )
    area_range: str = option(
        "all", "small", "medium", "large", meaning="COCO area range (annotation areas)"
    )
    max_dets: int = option(
        100, 10, 1, 0, meaning="detections kept per image and class, best first (0: all)"
    )
    pixel_inclusive: bool = option(False, True, meaning="+1 on every width and height (VOC)")

    def validate(self) -> None:
        if self.protocol == "voc" and self.area_range != "all":
            raise ValueError("area_range applies to protocol='coco' only")


def _negative_first(x: np.ndarray) -> np.ndarray:
    out = np.array(x, copy=True)
    out.reshape(-1)[0] = -1.0
    return out


NONNEGATIVE = Rule(">= 0", lambda xp, x: x < 0, _negative_first)
BOXES = (NOT_INVERTED, NO_NAN)

ARGS = Args(
    Arg("det_boxes", ("D", 4), "float", rules=BOXES),
    Arg("det_scores", ("D",), "float", rules=(NO_NAN,)),
    Arg("det_labels", ("D",), "int"),
    Arg("det_images", ("D",), "int"),
    Arg("gt_boxes", ("G", 4), "float", rules=BOXES),
    Arg("gt_labels", ("G",), "int"),
    Arg("gt_images", ("G",), "int"),
    Arg("gt_crowd", ("G",), "bool"),
    Arg("gt_areas", ("G",), "float", rules=(NO_NAN, NONNEGATIVE)),
    Scalar("num_images", "int", low=1),
    Scalar("num_classes", "int", low=1),
)
OUTPUTS = ("ap", "map")


def check(*args: Any) -> None:
    """ARGS.check, then the ids: every image id in [0, num_images), class in [0, num_classes)."""
    ARGS.check(*args)
    limits = {"det_labels": args[10], "det_images": args[9], "gt_labels": args[10],
              "gt_images": args[9]}  # fmt: skip
    for name, limit in limits.items():
        ids = np.asarray(args[ARGS.names.index(name)])
        if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= limit):
            raise ValueError(f"{name} holds an unknown id: ids must be in [0, {limit})")


def thresholds(opts: MapOptions) -> np.ndarray:
    if opts.iou_thresholds == "0.50:0.95":  # as pycocotools' Params builds them
        return np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1)
    return np.array([float(opts.iou_thresholds)])


Dataset = dict[str, Any]  # a COCO-format dataset: images, categories, annotations


def _coco_anns(boxes: Any, labels: Any, images: Any) -> list[dict[str, Any]]:
    b = np.asarray(boxes, dtype=np.float64)
    xywh = np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1).tolist()
    return [{"id": i + 1, "image_id": int(m) + 1, "category_id": int(c) + 1, "bbox": box}
            for i, (box, c, m) in enumerate(zip(xywh, labels.tolist(), images.tolist(),
                                                strict=True))]  # fmt: skip


def coco_datasets(det_boxes: Any, det_scores: Any, det_labels: Any, det_images: Any,
                  gt_boxes: Any, gt_labels: Any, gt_images: Any, gt_crowd: Any, gt_areas: Any,
                  num_images: int, num_classes: int) -> tuple[Dataset, Dataset]:  # fmt: skip
    """The arrays as the two COCO-format datasets a COCOeval-style library reads (ground
    truth, detections): 1-based ids (0 reads as "unmatched"), (x, y, w, h) float64 boxes,
    and the result set built as COCO.loadRes builds it (area w·h, iscrowd 0), directly,
    because loadRes cannot take an empty result list."""
    images = [{"id": i + 1} for i in range(num_images)]
    classes = [{"id": c + 1} for c in range(num_classes)]
    gts = _coco_anns(gt_boxes, gt_labels, gt_images)
    for a, crowd, area in zip(gts, gt_crowd.tolist(), gt_areas.tolist(), strict=True):
        a["iscrowd"], a["area"] = int(crowd), float(area)
    dts = _coco_anns(det_boxes, det_labels, det_images)
    for a, score in zip(dts, det_scores.tolist(), strict=True):
        a["score"], a["iscrowd"], a["area"] = float(score), 0, a["bbox"][2] * a["bbox"][3]
    return (
        {"images": images, "categories": classes, "annotations": gts},
        {"images": images, "categories": classes, "annotations": dts},
    )


def coco_params(params: Any, opts: MapOptions, n_dets: int) -> None:
    """A COCOeval Params set to the options: the thresholds, [the area range], [max_dets]
    (0: a cap above any image's count)."""
    params.iouThrs = thresholds(opts)
    params.areaRng, params.areaRngLbl = [list(AREA_RANGES[opts.area_range])], ["r"]
    params.maxDets = [opts.max_dets or max(n_dets, 1)]


def coco_ap(precision: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per class the mean of COCOeval's eval['precision'][:, :, k] (-1 there: no non-ignored
    GT, NaN here); mAP the mean over the classes that have one (COCOeval's stats[0])."""
    prec = np.asarray(precision)[:, :, :, 0, 0]  # (T, R, K)
    have = (prec > -1).all(axis=(0, 1))
    ap = np.where(have, prec.mean(axis=(0, 1)), np.nan)
    return ap, np.asarray(ap[have].mean() if have.any() else np.nan)


def passes(iou: Any, t: float, opts: MapOptions) -> Any:
    return iou >= t if opts.match_if == "ge" else iou > t


def ap_from_curve(tp: np.ndarray, fp: np.ndarray, npos: int, interp: str) -> float:
    """AP of one ranked list (tp, fp flags; an ignored detection has neither)."""
    ctp, cfp = np.cumsum(tp, dtype=np.float64), np.cumsum(fp, dtype=np.float64)
    rec = ctp / npos
    prec = np.divide(ctp, ctp + cfp, out=np.zeros_like(ctp), where=ctp + cfp > 0)
    if interp == "voc11":
        return float(np.mean([prec[rec >= r].max() if (rec >= r).any() else 0.0
                              for r in RECALL_11]))  # fmt: skip
    env = np.maximum.accumulate(prec[::-1])[::-1]  # max precision at this recall or above
    if interp == "coco101":
        at = np.searchsorted(rec, RECALL_101, side="left")
        return float(np.mean([env[i] if i < env.size else 0.0 for i in at]))
    mrec = np.concatenate([[0.0], rec, [1.0]])
    mpre = np.concatenate([[0.0], env, [0.0]])
    steps = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))


def _iou(d: np.ndarray, g: np.ndarray, crowd: np.ndarray, one: float) -> np.ndarray:
    """(len(d), len(g)) IoU; a crowd column is intersection over the detection's area."""
    iw = np.minimum(d[:, None, 2], g[None, :, 2]) - np.maximum(d[:, None, 0], g[None, :, 0])
    ih = np.minimum(d[:, None, 3], g[None, :, 3]) - np.maximum(d[:, None, 1], g[None, :, 1])
    inter = np.clip(iw + one, 0, None) * np.clip(ih + one, 0, None)
    ad = (d[:, 2] - d[:, 0] + one) * (d[:, 3] - d[:, 1] + one)
    ag = (g[:, 2] - g[:, 0] + one) * (g[:, 3] - g[:, 1] + one)
    union = np.where(crowd[None, :], ad[:, None], ad[:, None] + ag[None, :] - inter)
    iou: np.ndarray = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return iou


def _match_coco(ious: np.ndarray, ignore: np.ndarray, crowd: np.ndarray, t: float,
                opts: MapOptions) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """pycocotools' greedy scan for one threshold: (matched, matched to an ignored GT)."""
    n_d, n_g = ious.shape
    taken = np.zeros(n_g, bool)
    matched, on_ignored = np.zeros(n_d, bool), np.zeros(n_d, bool)
    for d in range(n_d):
        m = -1
        for g in range(n_g):
            if taken[g] and not crowd[g]:
                continue
            if m > -1 and not ignore[m] and ignore[g]:
                break  # a non-ignored match is never traded for an ignored one
            if not passes(ious[d, g], t, opts) or (m > -1 and ious[d, g] < ious[d, m]):
                continue
            m = g
        if m > -1:
            matched[d], on_ignored[d], taken[m] = True, ignore[m], True
    return matched, on_ignored


def _match_voc(ious: np.ndarray, difficult: np.ndarray, t: float,
               opts: MapOptions) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """voc_eval's rule: the best GT only; taken -> false positive."""
    taken = np.zeros(ious.shape[1], bool)
    tp, ignored = np.zeros(ious.shape[0], bool), np.zeros(ious.shape[0], bool)
    for d in range(ious.shape[0]):
        if ious.shape[1] == 0:
            continue
        j = int(np.argmax(ious[d]))
        if passes(ious[d, j], t, opts):
            if difficult[j]:
                ignored[d] = True
            elif not taken[j]:
                tp[d], taken[j] = True, True
    return tp, ignored


def _groups(labels: np.ndarray, images: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
    """(class, image) -> the indices of its boxes, ascending."""
    out: dict[tuple[int, int], list[int]] = {}
    for i, key in enumerate(zip(labels.tolist(), images.tolist(), strict=True)):
        out.setdefault(key, []).append(i)
    return {k: np.array(v, dtype=np.int64) for k, v in out.items()}


def detection_map(det_boxes: Any, det_scores: Any, det_labels: Any, det_images: Any,
                  gt_boxes: Any, gt_labels: Any, gt_images: Any, gt_crowd: Any, gt_areas: Any,
                  num_images: int, num_classes: int, opts: MapOptions) -> Any:  # fmt: skip
    """Oracle, float64: per class, per image the matching of the protocol, then per class
    the ranked list over all images and its AP at every threshold."""
    check(det_boxes, det_scores, det_labels, det_images, gt_boxes, gt_labels, gt_images,
          gt_crowd, gt_areas, num_images, num_classes)  # fmt: skip
    db, ds = np.asarray(det_boxes, np.float64), np.asarray(det_scores, np.float64)
    dl, di = np.asarray(det_labels, np.int64), np.asarray(det_images, np.int64)
    gb, gl, gi = np.asarray(gt_boxes, np.float64), np.asarray(gt_labels), np.asarray(gt_images)
    crowd, areas = np.asarray(gt_crowd, bool), np.asarray(gt_areas, np.float64)
    one = 1.0 if opts.pixel_inclusive else 0.0
    lo, hi = AREA_RANGES[opts.area_range]
    coco = opts.protocol == "coco"
    ts = thresholds(opts)
    ap = np.full(num_classes, np.nan)
    dets, gts = _groups(dl, di), _groups(gl, gi)
    empty = np.zeros(0, np.int64)
    for c in range(num_classes):
        rows = []  # per kept detection: (score, image, index, tp flags, fp flags)
        npos = 0
        for img in sorted({i for cc, i in (*dets, *gts) if cc == c}):
            g, d = gts.get((c, img), empty), dets.get((c, img), empty)
            d = d[np.argsort(-ds[d], kind="stable")]
            if opts.max_dets:
                d = d[: opts.max_dets]
            if coco:
                ignore = crowd[g] | (areas[g] < lo) | (areas[g] > hi)
                g, ignore = g[np.argsort(ignore, kind="stable")], np.sort(ignore)
            else:
                ignore = crowd[g]
            npos += int((~ignore).sum())
            ious = _iou(db[d], gb[g], crowd[g] & coco, one)
            a_d = (db[d, 2] - db[d, 0] + one) * (db[d, 3] - db[d, 1] + one)
            outside = (a_d < lo) | (a_d > hi)
            tp, fp = np.zeros((len(ts), d.size), bool), np.zeros((len(ts), d.size), bool)
            for k, t in enumerate(ts):
                if coco:
                    hit, ign = _match_coco(ious, ignore, crowd[g], t, opts)
                    ign = ign | (~hit & outside)
                else:
                    hit, ign = _match_voc(ious, ignore, t, opts)
                tp[k], fp[k] = hit & ~ign, ~hit & ~ign
            rows += [(ds[j], img, j, tp[:, n], fp[:, n]) for n, j in enumerate(d)]
        if npos == 0:
            continue
        key = (lambda r: (-r[0], r[1], r[2])) if coco else (lambda r: (-r[0], r[2]))
        rows.sort(key=key)
        tps = np.array([r[3] for r in rows]).reshape(-1, len(ts))
        fps = np.array([r[4] for r in rows]).reshape(-1, len(ts))
        ap[c] = np.mean([ap_from_curve(tps[:, k], fps[:, k], npos, opts.ap_interp)
                         for k in range(len(ts))])  # fmt: skip
    kept = ap[~np.isnan(ap)]
    return ap, np.asarray(kept.mean() if kept.size else np.nan)


def make_inputs(case: Case) -> Inputs:
    """Images of 640 px with log-uniform GT sizes (every area range populated); per GT,
    usually a jittered detection of the same class (sometimes two: duplicates), then random
    false positives up to ``dets`` per image. Annotation areas are 40-100 % of the box's."""
    p = case.params
    rng = np.random.default_rng(case.seed)
    n_img, n_cls = int(p.get("images", 8)), int(p.get("classes", 3))
    per_gt, per_det = float(p.get("gts", 3)), int(p.get("dets", 10))
    pattern = p.get("pattern", "random")
    counts = rng.integers(0, int(2 * per_gt) + 1, n_img) if per_gt else np.zeros(n_img, int)
    n_g = int(counts.sum())
    wh = np.exp(rng.uniform(np.log(8.0), np.log(300.0), (n_g, 2)))
    xy = rng.uniform(0, 640 - wh)
    if pattern in ("exact", "near"):  # integer boxes 3u or 7u wide: a shift of u gives an
        u = rng.integers(2, 20, n_g).astype(np.float64)  # IoU of exactly 0.5 or 0.75
        wh = np.stack([np.where(np.arange(n_g) % 2, 7 * u, 3 * u), 2 * u], axis=1)
        xy = np.floor(xy)
    gt = np.concatenate([xy, xy + wh], axis=1)
    gt_labels = rng.integers(0, int(p.get("gt_classes", n_cls)), n_g)
    gt_images = np.repeat(np.arange(n_img), counts)
    if pattern == "pairs":  # odd GTs: their predecessor shifted by 10 % (IoU ≈ 0.82), so
        odd = np.flatnonzero((np.arange(n_g) % 2 == 1) & (np.r_[-1, gt_images[:-1]] == gt_images))
        gt[odd] = gt[odd - 1] + np.outer(0.1 * wh[odd - 1, 0], [1.0, 0.0, 1.0, 0.0])
        wh[odd], gt_labels[odd] = wh[odd - 1], gt_labels[odd - 1]  # detections see both
    crowd = rng.random(n_g) < float(p.get("crowd", 0.0))
    areas = wh[:, 0] * wh[:, 1] * rng.uniform(0.4, 1.0, n_g)
    boxes, scores, labels, images = [], [], [], []
    for img in range(n_img):
        mine = np.flatnonzero(gt_images == img)
        copies = mine[rng.random(mine.size) < 0.85]
        copies = np.concatenate([copies, copies[rng.random(copies.size) < 0.3]])[:per_det]
        g = gt[copies]
        w = g[:, 2:] - g[:, :2]
        if pattern in ("exact", "near"):
            shift = np.where(copies % 2, w[:, 0] / 7, w[:, 0] / 3)
            if pattern == "near":  # 1e-12 either side: float32 rounds it back onto t
                shift = shift + rng.choice([-1e-12, 1e-12], copies.size) * shift
            g = g + np.stack([shift, 0 * shift, shift, 0 * shift], axis=1)
        else:
            g = g + rng.normal(0, 0.12, (copies.size, 4)) * np.tile(w, 2)
            g = np.concatenate([np.minimum(g[:, :2], g[:, 2:]), np.maximum(g[:, :2], g[:, 2:])], 1)
        lab = np.where(rng.random(copies.size) < 0.9, gt_labels[copies],
                       rng.integers(0, n_cls, copies.size))  # fmt: skip
        n_fp = per_det - copies.size
        fwh = np.exp(rng.uniform(np.log(8.0), np.log(300.0), (n_fp, 2)))
        fxy = rng.uniform(0, 640 - fwh)
        boxes += [g, np.concatenate([fxy, fxy + fwh], axis=1)]
        scores += [rng.uniform(0.3, 1.0, copies.size), rng.uniform(0.0, 0.7, n_fp)]
        labels += [lab, rng.integers(0, n_cls, n_fp)]
        images += [np.full(per_det, img)]
    dtype = np.dtype(case.dtype)
    s = np.concatenate([np.zeros(0), *scores])
    if pattern == "ties":  # five score levels: ties within and across images
        s = np.round(s * 4) / 4
    out = {
        "det_boxes": np.concatenate([np.zeros((0, 4)), *boxes]).astype(dtype),
        "det_scores": s.astype(dtype),
        "det_labels": np.concatenate([np.zeros(0, np.int64), *labels]).astype(np.int64),
        "det_images": np.concatenate([np.zeros(0, np.int64), *images]).astype(np.int64),
        "gt_boxes": gt.astype(dtype),
        "gt_labels": gt_labels.astype(np.int64),
        "gt_images": gt_images.astype(np.int64),
        "gt_crowd": crowd,
        "gt_areas": areas.astype(dtype),
        "num_images": n_img,
        "num_classes": n_cls,
    }
    bad = p.get("bad")  # an id outside [0, num_images) or [0, num_classes)
    if bad:
        limit = n_img if bad.endswith("images") else n_cls
        ids = np.array(out[bad], copy=True)
        ids[0] = -1 if p.get("negative") else limit
        out[bad] = ids
    return out


def cost(case: Case) -> Cost:
    """Per image and class a D_ic x G_ic IoU matrix (12 flops a pair) scanned at every
    threshold (≈ 4 comparisons a pair), and a sort of the detections (≈ 2·D·log2 D);
    with classes uniform, Σ D_ic·G_ic ≈ images·dets·2·gts/classes. Items: images."""
    p = case.params
    n_img, n_cls = int(p.get("images", 8)), int(p.get("classes", 3))
    per_gt, per_det = float(p.get("gts", 3)), int(p.get("dets", 10))
    t = 10 if case.options.get("iou_thresholds", "0.50:0.95") == "0.50:0.95" else 1
    pairs = n_img * per_det * max(per_gt, 0.5) * 2 / n_cls
    d, g = n_img * per_det, n_img * per_gt
    b = np.dtype(case.dtype).itemsize
    flops = pairs * (12 + 4 * t) + 2 * d * np.log2(max(d, 2))
    return Cost(flops=float(flops), bytes=float(d * (5 * b + 16) + g * (5 * b + 17)),
                items=n_img, item_unit="images")  # fmt: skip


def tolerance(case: Case) -> Tolerance:
    """Every implementation promotes the boxes to float64, so the matches are the oracle's;
    an AP is then a mean of ≤ 101 x 10 ratios of exact counts: its rounding error stays
    below 1e-13. 1e-10 leaves room and still catches a single changed match (≥ 1e-4)."""
    return Tolerance(1e-10, 1e-10, "float64 matches on promoted boxes; AP a short mean")


class MapClose(Close):
    """AP and mAP are float64 whatever the boxes' dtype (pycocotools works in double)."""

    def expected_dtype(self, case: Case) -> str | None:
        return "float64"


_VOC = {"protocol": "voc", "pixel_inclusive": True, "iou_thresholds": "0.5", "max_dets": 0}

CASES = [
    case("coco_random"),
    case("coco_random_f32", dtype="float32"),
    case("coco_thr_050", options={"iou_thresholds": "0.5"}),
    case("coco_thr_075", options={"iou_thresholds": "0.75"}),
    case("coco_small", images=12, options={"area_range": "small"}),
    case("coco_medium", images=12, options={"area_range": "medium"}),
    case("coco_large", images=12, options={"area_range": "large"}),
    case("coco_crowd", images=12, crowd=0.3),
    case("coco_crowd_medium", images=12, crowd=0.3, options={"area_range": "medium"}),
    case("coco_max_dets_10", dets=30, gts=6, classes=2, options={"max_dets": 10}),
    case("coco_max_dets_1", options={"max_dets": 1}),
    case("coco_all_dets", dets=40, gts=6, classes=1, options={"max_dets": 0}),
    case("coco_ties", pattern="ties"),
    case("coco_pairs", images=12, pattern="pairs", crowd=0.3),
    case("coco_pairs_medium", images=12, pattern="pairs", options={"area_range": "medium"}),
    case("coco_inclusive", options={"pixel_inclusive": True}),
    case("coco_all_point", options={"ap_interp": "all_point"}),
    case("coco_exact_ge", pattern="exact"),
    case("coco_exact_gt", pattern="exact", options={"match_if": "gt"}),
    case("voc_all_point", options={**_VOC, "ap_interp": "all_point"}),
    case("voc_11_point", options={**_VOC, "ap_interp": "voc11"}),
    case("voc_difficult", crowd=0.3, options={**_VOC, "ap_interp": "all_point"}),
    case("voc_pairs", images=12, pattern="pairs", crowd=0.2, options=_VOC),
    case("voc_ties_gt", pattern="ties", options={**_VOC, "match_if": "gt"}),
    case("voc_exact_ge", pattern="exact", options={**_VOC, "pixel_inclusive": False}),
    case("voc_coco_thresholds", crowd=0.2, options={**_VOC, "iou_thresholds": "0.50:0.95"}),
    case("voc_max_dets_10", dets=30, gts=6, classes=2, options={**_VOC, "max_dets": 10}),
    # 40 images x 10 detections: 400 > 256 detections and ground truths past 100
    case("multi_block", images=40, dets=10, gts=4),
]
EDGES = [
    edge("no_detections", dets=0, gts=3),
    edge("no_ground_truth", dets=6, gts=0),
    edge("class_without_gt", classes=4, gt_classes=2),
    edge("few_images_many_classes", images=2, classes=6, dets=5),
    edge("near_threshold_f64", pattern="near"),
    edge("near_threshold_voc_f64", pattern="near", options={**_VOC, "pixel_inclusive": False}),
]
ERRORS = [
    error("unknown_det_image", ValueError, "det_images", bad="det_images"),
    error("unknown_det_class", ValueError, "det_labels", bad="det_labels"),
    error("unknown_gt_image", ValueError, "gt_images", bad="gt_images", negative=True),
    error("unknown_gt_class", ValueError, "gt_labels", bad="gt_labels"),
]


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "images": st.integers(1, 6),
            "classes": st.integers(1, 4),
            "gts": st.sampled_from([0, 1, 3]),
            "dets": st.integers(0, 12),
            "crowd": st.sampled_from([0.0, 0.3]),
            "pattern": st.sampled_from(["random", "ties", "exact", "pairs"]),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
        }
    )
    opts = MapOptions.strategy(optional=True).filter(
        lambda o: o.get("protocol") != "voc" or o.get("area_range", "all") == "all"
    )
    return fuzz_cases(params, opts)


CONVENTIONS = (
    "det_boxes (D, 4) and gt_boxes (G, 4) are x1, y1, x2, y2 floats (no NaN, not inverted); "
    "det_scores (D,) no NaN; labels and images are int ids in [0, num_classes) and "
    "[0, num_images), else ValueError; gt_crowd (G,) bool is iscrowd (COCO) or difficult "
    "(VOC); gt_areas (G,) >= 0 the annotation areas COCO's area ranges read (a detection's "
    "range test uses its box area). Everything is computed in float64; outputs ap "
    "(num_classes,) and map (), float64; a class without a non-ignored GT has AP NaN and is "
    "left out of map (NaN if no class has one). COCO: stable score sort per image, cut at "
    "max_dets (0: no cap); ignored GTs (crowd, area outside the range, bounds inclusive) "
    "last; each detection takes the highest-IoU GT passing match_if among those not taken "
    "(crowds stay available), non-ignored first, the later one among equal IoUs; crowd IoU "
    "= intersection / detection area; matched-to-ignored and unmatched out-of-range "
    "detections are ignored; class ranking by score, then image, then index. VOC: class "
    "ranking by score, then index; a detection looks only at its highest-IoU GT of its "
    "image (the first among equal IoUs): difficult -> ignored, taken -> FP, else TP; "
    "difficult GTs are not positives; area_range must be 'all'. AP per threshold by "
    "ap_interp, averaged over the thresholds. A zero union or detection area gives IoU 0."
)

SUITE = Suite(
    algorithm="detection_map",
    family="losses-and-metrics",
    summary="Per-class AP and mAP of detections against ground truths, COCO or VOC rules "
    "-> ap (num_classes,), map ().",
    conventions=CONVENTIONS,
    args=ARGS,
    options=MapOptions,
    make_inputs=make_inputs,
    oracle=detection_map,
    compare=Outputs({name: MapClose(override=tolerance) for name in OUTPUTS}),
    outputs=OUTPUTS,
    cost=cost,
    defaults={"seed": 23, "dtype": "float64"},
    cases=[*CASES, *EDGES],
    errors=ERRORS,
    invalid_options=[{"protocol": "voc", "area_range": "small"}],
    bench={
        "smoke": [bench("bench_5", images=5, classes=5, dets=20, gts=3)],
        # the spec's standard (500 images) takes pycocotools ~10 s a call and the oracle
        # ~14 s on a 2-core machine: the quick profile times 25 images of the same density
        "quick": [bench("bench_25", images=25, classes=20, dets=100, gts=7)],
        "full": [
            bench("bench_500", images=500, classes=20, dets=100, gts=7),
            bench("bench_large", images=5000, classes=80, dets=100, gts=7),
        ],
    },
    standard="bench_25",
    multi_block={"D": 400},
    near_threshold=("near_threshold_f64", "near_threshold_voc_f64"),
    fuzz=fuzz_strategy,
    backends=("python", "numpy", "numba", "library"),
    reference="pycocotools COCOeval and faster-coco-eval COCOeval_faster (bbox; one area "
    "range and maxDets); the VOC rules of the devkit and voc_eval.py ported into the oracle",
)

SUITES = [SUITE]
