"""detection_map in pure Python: dicts of per-(class, image) lists, tuple-key sorts, scalar
IoUs computed once per pair and reused by every threshold; AP with running sums."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.detection_map import AREA_RANGES, RECALL_11, RECALL_101, MapOptions, check, thresholds


def _iou(d: list[float], g: list[float], crowd: bool, one: float) -> float:
    iw = min(d[2], g[2]) - max(d[0], g[0]) + one
    ih = min(d[3], g[3]) - max(d[1], g[1]) + one
    inter = iw * ih if iw > 0 and ih > 0 else 0.0
    ad = (d[2] - d[0] + one) * (d[3] - d[1] + one)
    union = ad if crowd else ad + (g[2] - g[0] + one) * (g[3] - g[1] + one) - inter
    return inter / union if union > 0 else 0.0


def _ap(flags: list[tuple[bool, bool]], npos: int, interp: str) -> float:
    rec, prec = [], []
    tp = fp = 0
    for is_tp, is_fp in flags:
        tp += is_tp
        fp += is_fp
        rec.append(tp / npos)
        prec.append(tp / (tp + fp) if tp + fp else 0.0)
    for i in range(len(prec) - 2, -1, -1):
        prec[i] = max(prec[i], prec[i + 1])
    if interp == "all_point":
        total, last = 0.0, 0.0
        for r, p in zip(rec, prec, strict=True):
            total, last = total + (r - last) * p, r
        return total
    points = (RECALL_101 if interp == "coco101" else RECALL_11).tolist()
    total, i = 0.0, 0
    for r in points:
        while i < len(rec) and rec[i] < r:
            i += 1
        total += prec[i] if i < len(rec) else 0.0
    return total / len(points)


@implementation("detection_map", "python", "loops", max_flops=3e5)
def detection_map(det_boxes: Any, det_scores: Any, det_labels: Any, det_images: Any,
                  gt_boxes: Any, gt_labels: Any, gt_images: Any, gt_crowd: Any, gt_areas: Any,
                  num_images: int, num_classes: int, opts: MapOptions) -> Any:  # fmt: skip
    """Group, match per group with the protocol's scan, then rank per class."""
    check(det_boxes, det_scores, det_labels, det_images, gt_boxes, gt_labels, gt_images,
          gt_crowd, gt_areas, num_images, num_classes)  # fmt: skip
    coco, one = opts.protocol == "coco", 1.0 if opts.pixel_inclusive else 0.0
    lo, hi = AREA_RANGES[opts.area_range]
    ts, ge = thresholds(opts).tolist(), opts.match_if == "ge"
    db, ds = np.asarray(det_boxes, np.float64).tolist(), np.asarray(det_scores, np.float64).tolist()
    gb = np.asarray(gt_boxes, np.float64).tolist()
    crowd, areas = np.asarray(gt_crowd, bool).tolist(), np.asarray(gt_areas, np.float64).tolist()
    gts: dict[tuple[int, int], list[int]] = {}
    for j, key in enumerate(
        zip(np.asarray(gt_labels).tolist(), np.asarray(gt_images).tolist(), strict=True)
    ):
        gts.setdefault(key, []).append(j)
    dets: dict[tuple[int, int], list[int]] = {}
    for i, key in enumerate(
        zip(np.asarray(det_labels).tolist(), np.asarray(det_images).tolist(), strict=True)
    ):
        dets.setdefault(key, []).append(i)
    ignore = [c or (coco and not lo <= a <= hi) for c, a in zip(crowd, areas, strict=True)]
    npos = [0] * num_classes
    for j, lab in enumerate(np.asarray(gt_labels).tolist()):
        npos[lab] += not ignore[j]
    ranked: list[list[tuple[float, int, int, list[tuple[bool, bool]]]]] = [
        [] for _ in range(num_classes)
    ]
    for (c, img), d in dets.items():
        d = sorted(d, key=lambda i: -ds[i])  # stable: index order among equal scores
        if opts.max_dets:
            d = d[: opts.max_dets]
        g = gts.get((c, img), [])
        if coco:
            g = sorted(g, key=lambda j: ignore[j])
        ious = [[_iou(db[i], gb[j], coco and crowd[j], one) for j in g] for i in d]
        flags = [[(False, False)] * len(ts) for _ in d]
        for t, thr in enumerate(ts):
            taken = [False] * len(g)
            for n, row in enumerate(ious):
                m = -1
                if coco:
                    for k, v in enumerate(row):
                        if taken[k] and not crowd[g[k]]:
                            continue
                        if m > -1 and not ignore[g[m]] and ignore[g[k]]:
                            break
                        if (v >= thr if ge else v > thr) and (m < 0 or v >= row[m]):
                            m = k
                    if m > -1:
                        taken[m] = True
                        flags[n][t] = (not ignore[g[m]], False)
                    else:
                        a = (db[d[n]][2] - db[d[n]][0] + one) * (db[d[n]][3] - db[d[n]][1] + one)
                        flags[n][t] = (False, lo <= a <= hi)
                    continue
                if row:
                    m = max(range(len(row)), key=row.__getitem__)  # first of the maxima
                if m > -1 and (row[m] >= thr if ge else row[m] > thr):
                    if ignore[g[m]]:
                        continue
                    flags[n][t] = (not taken[m], taken[m])
                    taken[m] = True
                else:
                    flags[n][t] = (False, True)
        ranked[c] += [(-ds[i], img, i, f) for i, f in zip(d, flags, strict=True)]
    ap = [float("nan")] * num_classes
    for c in range(num_classes):
        if npos[c] == 0:
            continue
        rows = sorted(ranked[c]) if coco else sorted(ranked[c], key=lambda r: (r[0], r[2]))
        ap[c] = sum(_ap([r[3][t] for r in rows], npos[c], opts.ap_interp)
                    for t in range(len(ts))) / len(ts)  # fmt: skip
    kept = [a for a in ap if a == a]
    return np.array(ap), np.asarray(sum(kept) / len(kept) if kept else float("nan"))
