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

from faster_coco_eval import COCO, COCOeval_faster

from harness import implementation
from suites.detection_map import MapOptions, check, coco_ap, coco_datasets, coco_params


def _quiet(*_: Any) -> None:
    """The library's progress messages go nowhere."""


def _coco(dataset: dict[str, Any]) -> Any:
    data = COCO(print_function=_quiet)
    data.dataset = dataset
    data.createIndex()
    return data


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
    args = (det_boxes, det_scores, det_labels, det_images, gt_boxes, gt_labels, gt_images,
            gt_crowd, gt_areas, num_images, num_classes)  # fmt: skip
    check(*args)
    gts, dts = coco_datasets(*args)
    ev = COCOeval_faster(_coco(gts), _coco(dts), "bbox", print_function=_quiet)
    coco_params(ev.params, opts, len(dts["annotations"]))
    ev.evaluate()
    ev.accumulate()
    return coco_ap(ev.eval["precision"])
