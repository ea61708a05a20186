"""detection_map through faster-coco-eval's COCOeval_faster (iouType 'bbox'): pycocotools'
rules with evaluateImg and accumulate in C++; one area range, one maxDets.

Adapter, as for pycocotools: ids become 1-based COCO ids (0 would read as "unmatched");
boxes go in as (x, y, w, h) float64; the result set is built directly (area w·h, iscrowd
0). The library logs its progress through a print function (logger.info / logger.debug by
default): all three objects get a no-op one. Params: the thresholds, [the area range],
[max_dets] (0: a cap above any image's count). Per class the AP is the mean of
eval['precision'][:, :, k] (-1 there: no non-ignored GT, NaN here); mAP is the mean over
the classes that have one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from faster_coco_eval import COCO, COCOeval_faster

from harness import implementation
from suites.detection_map import AREA_RANGES, MapOptions, check, thresholds


def _quiet(*_: Any) -> None:
    """The library's progress messages go nowhere."""


def _coco(images: list[dict[str, Any]], classes: list[dict[str, Any]],
          anns: list[dict[str, Any]]) -> Any:  # fmt: skip
    data = COCO(print_function=_quiet)
    data.dataset = {"images": images, "categories": classes, "annotations": anns}
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
    "faster_coco_eval",
    arrays="numpy",
    requires=("faster_coco_eval",),
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
    """COCOeval_faster on datasets built from the arrays; AP per class from eval['precision']."""
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
    ev = COCOeval_faster(_coco(images, classes, gts), _coco(images, classes, dts), "bbox",
                         print_function=_quiet)  # fmt: skip
    ev.params.iouThrs = thresholds(opts)
    ev.params.areaRng, ev.params.areaRngLbl = [list(AREA_RANGES[opts.area_range])], ["r"]
    ev.params.maxDets = [opts.max_dets or max(len(dts), 1)]
    ev.evaluate()
    ev.accumulate()
    prec = np.asarray(ev.eval["precision"])[:, :, :, 0, 0]  # (T, R, K)
    have = (prec > -1).all(axis=(0, 1))
    ap = np.where(have, prec.mean(axis=(0, 1)), np.nan)
    return ap, np.asarray(ap[have].mean() if have.any() else np.nan)
