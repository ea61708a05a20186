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

from pycocotools import coco, cocoeval

from harness import implementation
from suites.detection_map import MapOptions, check, coco_ap, coco_datasets, coco_params


def _coco(dataset: dict[str, Any]) -> Any:
    data = coco.COCO()
    data.dataset = dataset
    with contextlib.redirect_stdout(io.StringIO()):
        data.createIndex()
    return data


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
    args = (det_boxes, det_scores, det_labels, det_images, gt_boxes, gt_labels, gt_images,
            gt_crowd, gt_areas, num_images, num_classes)  # fmt: skip
    check(*args)
    gts, dts = coco_datasets(*args)
    ev = cocoeval.COCOeval(_coco(gts), _coco(dts), "bbox")
    coco_params(ev.params, opts, len(dts["annotations"]))
    with contextlib.redirect_stdout(io.StringIO()):
        ev.evaluate()
        ev.accumulate()
    return coco_ap(ev.eval["precision"])
