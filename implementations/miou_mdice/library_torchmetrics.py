"""torchmetrics multiclass_jaccard_index and multiclass_f1_score (F1 = Dice for hard
labels), adapted.

On all pixels at once or per image, with num_classes=C, ignore_index passed through and
average='none' (per class) or 'micro'. The absent classes are the Jaccard index's 0/0
(zero_division=NaN; the F1 score takes only 0 or 1, so its absent classes are read off the
Jaccard's NaN); the adapter applies the absent rule and takes the means over the classes
that are not NaN itself (macro, class_weights, or target support like the suite's
'support'). torchmetrics refuses C = 1: the adapter adds an unused second class and drops
it. No pixel at all: every class is absent (torchmetrics cannot reshape empty input).
torchmetrics divides the counts in float32, whatever the output dtype.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch
from torchmetrics.functional.classification import multiclass_f1_score, multiclass_jaccard_index

from harness import implementation
from suites.miou_mdice import MiouOptions, check

_FILL = {"nan": math.nan, "zero": 0.0, "one": 1.0}
# torchmetrics turns the confusion matrix into float32 before dividing (confmat.float()):
# its ratios carry float32 rounding, ~1e-8 relative, past the float64 tolerance
_F32 = "torchmetrics divides the counts in float32: ~1e-8 relative, past the float64 tolerance"


def _mean(values: Any, weights: Any) -> Any:
    keep = ~torch.isnan(values)
    total = weights[keep].sum()
    return (
        (values[keep] * weights[keep]).sum() / total if total > 0 else values.new_tensor(math.nan)
    )


def _scores(p: Any, t: Any, weights: Any, opts: MiouOptions) -> tuple[Any, Any]:
    """(iou, dice) of the pixels p, t (1-D), float64, the absent rule and average applied."""
    c = len(weights)
    fill = _FILL[opts.absent]
    f64 = torch.float64
    ignore = opts.ignore_index
    if opts.average == "micro":
        if t.numel() == 0 or (ignore is not None and bool((t == ignore).all())):
            return torch.tensor(fill, dtype=f64), torch.tensor(fill, dtype=f64)
        k = max(c, 2)
        return tuple(  # type: ignore[return-value]
            f(p, t, num_classes=k, average="micro", ignore_index=ignore).to(f64)
            for f in (multiclass_jaccard_index, multiclass_f1_score)
        )
    if t.numel() == 0:
        iou = dice = torch.full((c,), fill, dtype=f64)
        support = torch.zeros(c, dtype=f64)
    else:
        k = max(c, 2)  # torchmetrics needs two classes; an unused one is dropped after
        iou = multiclass_jaccard_index(
            p, t, num_classes=k, average="none", ignore_index=ignore, zero_division=math.nan
        )[:c].to(f64)
        dice = multiclass_f1_score(
            p, t, num_classes=k, average="none", ignore_index=ignore, zero_division=0
        )[:c].to(f64)
        absent = torch.isnan(iou)
        iou = torch.where(absent, fill, iou)
        dice = torch.where(absent, fill, dice)
        valid = t if ignore is None else t[t != ignore]
        support = torch.bincount(valid, minlength=c)[:c].to(f64)
    if opts.average == "none":
        return iou, dice
    w = {"macro": torch.ones(c, dtype=f64), "weighted": weights}.get(opts.average, support)
    return _mean(iou, w), _mean(dice, w)


def _nanmean(stack: Any) -> Any:
    keep = ~torch.isnan(stack)
    return torch.where(keep, stack, 0.0).sum(dim=0) / keep.sum(dim=0)


@implementation(
    "miou_mdice",
    "library",
    "torchmetrics",
    arrays="torch_cpu",
    requires=("torchmetrics", "torch"),
    expected_failures={  # the float64 cases whose answers are not exact in float32
        "random": _F32,
        "weighted": _F32,
        "support_weighted": _F32,
        "per_image": _F32,
        "no_ignore_index": _F32,
        "tall_images": _F32,
        "micro": _F32,
        "per_image_micro": _F32,
        "per_class": _F32,
        "per_image_per_class": _F32,
        "absent_class": _F32,
        "absent_class_zero": _F32,
        "absent_class_support": _F32,
        "absent_class_per_class": _F32,
        "absent_class_one": _F32,
        "absent_in_some_images": _F32,
        "absent_in_some_images_per_class": _F32,
        # the bench cases are float64 too: not timed, as in verify
        "bench_tiny": _F32,
        "bench_2x256x256": _F32,
        "bench_spec_standard": _F32,
        "bench_large": _F32,
    },
)
def miou_mdice(pred: Any, target: Any, class_weights: Any, opts: MiouOptions) -> Any:
    """torchmetrics' per-class multiclass_jaccard_index / multiclass_f1_score (or their
    micro averages) over all pixels or per image; the absent rule and the NaN-skipping
    means are the adapter's."""
    dtype = check(pred, target, class_weights, opts)
    weights = class_weights.to(torch.float64)
    c = len(weights)
    with warnings.catch_warnings():
        # torchmetrics warns when a class is in neither preds nor target ("absent"): the
        # adapter's absent rule handles those
        warnings.filterwarnings("ignore", ".*no positive samples in targets.*", UserWarning)
        if opts.accumulate == "dataset":
            iou, dice = _scores(pred.reshape(-1), target.reshape(-1), weights, opts)
        else:
            pairs = [
                _scores(pred[i].reshape(-1), target[i].reshape(-1), weights, opts)
                for i in range(len(pred))
            ]
            shape = (len(pairs), c) if opts.average == "none" else (len(pairs),)
            if pairs:
                iou, dice = (
                    _nanmean(torch.stack([q[j] for q in pairs]).reshape(shape)) for j in (0, 1)
                )
            else:
                iou = dice = torch.full(shape[1:], math.nan, dtype=torch.float64)
    return iou.to(dtype), dice.to(dtype)
