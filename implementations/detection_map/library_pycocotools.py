"""detection_map through pycocotools' COCOeval (iouType 'bbox'), one area range, one maxDets.

Adapter: ids become 1-based COCO ids (pycocotools marks "unmatched" with id 0); boxes go in
as (x, y, w, h) float64; the result set is built as COCO.loadRes builds it (area w·h,
iscrowd 0), directly, because loadRes cannot take an empty result list. Params: the
thresholds, [the area range], [max_dets] (0: a cap above any image's count). Per class the
AP is the mean of eval['precision'][:, :, k] (-1 there: no non-ignored GT, NaN here); mAP
is the mean over the classes that have one (COCOeval's stats[0]).
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

import numpy as np
from pycocotools import coco, cocoeval

from harness import implementation
from suites.detection_map import AREA_RANGES, MapOptions, check, thresholds


def _coco(images: list[dict[str, Any]], classes: list[dict[str, Any]],
          anns: list[dict[str, Any]]) -> Any:  # fmt: skip
    data = coco.COCO()
    data.dataset = {"images": images, "categories": classes, "annotations": anns}
    with contextlib.redirect_stdout(io.StringIO()):
        data.createIndex()
    return data


def _anns(boxes: Any, labels: Any, images: Any) -> list[dict[str, Any]]:
    b = np.asarray(boxes, dtype=np.float64)
    xywh = np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1).tolist()
    return [{"id": i + 1, "image_id": int(m) + 1, "category_id": int(c) + 1, "bbox": box}
            for i, (box, c, m) in enumerate(zip(xywh, labels.tolist(), images.tolist(),
                                                strict=True))]  # fmt: skip


@implementation(
    "detection_map",
    "library",
    "pycocotools",
    arrays="numpy",
    requires=("pycocotools",),
    supports={
        "protocol": ("coco",),
        "ap_interp": ("coco101",),
        "match_if": ("ge",),
        "pixel_inclusive": (False,),
    },
)
def detection_map(det_boxes: Any, det_scores: Any, det_labels: Any, det_images: Any,
                  gt_boxes: Any, gt_labels: Any, gt_images: Any, gt_crowd: Any, gt_areas: Any,
                  num_images: int, num_classes: int, opts: MapOptions) -> Any:  # fmt: skip
    """COCOeval on datasets built from the arrays; AP per class from eval['precision']."""
    check(det_boxes, det_scores, det_labels, det_images, gt_boxes, gt_labels, gt_images,
          gt_crowd, gt_areas, num_images, num_classes)  # fmt: skip
    images = [{"id": i + 1} for i in range(num_images)]
    classes = [{"id": c + 1} for c in range(num_classes)]
    gts = _anns(gt_boxes, gt_labels, gt_images)
    for a, crowd, area in zip(gts, gt_crowd.tolist(), gt_areas.tolist(), strict=True):
        a["iscrowd"], a["area"] = int(crowd), float(area)
    dts = _anns(det_boxes, det_labels, det_images)
    for a, score in zip(dts, det_scores.tolist(), strict=True):
        a["score"], a["iscrowd"], a["area"] = float(score), 0, a["bbox"][2] * a["bbox"][3]
    ev = cocoeval.COCOeval(_coco(images, classes, gts), _coco(images, classes, dts), "bbox")
    ev.params.iouThrs = thresholds(opts)
    ev.params.areaRng, ev.params.areaRngLbl = [list(AREA_RANGES[opts.area_range])], ["r"]
    ev.params.maxDets = [opts.max_dets or max(len(dts), 1)]
    with contextlib.redirect_stdout(io.StringIO()):
        ev.evaluate()
        ev.accumulate()
    prec = ev.eval["precision"][:, :, :, 0, 0]  # (T, R, K)
    have = (prec > -1).all(axis=(0, 1))
    ap = np.where(have, prec.mean(axis=(0, 1)), np.nan)
    return ap, np.asarray(ap[have].mean() if have.any() else np.nan)
