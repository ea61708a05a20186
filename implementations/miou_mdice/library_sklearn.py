"""sklearn.metrics jaccard_score and f1_score (F1 = Dice for hard labels), adapted.

Per image or on all pixels at once, on the pixels whose target is not ignore_index, with
labels=range(C). sklearn gives the per-class scores (average=None) and the micro average;
its zero_division takes only 0 or 1, so the adapter finds the absent classes with
sklearn's confusion_matrix, applies the absent rule, and takes the means over the classes
that are not NaN itself (macro, class_weights, or target support like sklearn's
'weighted'). No pixel at all: every class is absent (sklearn refuses empty input).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score, jaccard_score

from harness import implementation
from suites.miou_mdice import MiouOptions, check

_FILL = {"nan": np.nan, "zero": 0.0, "one": 1.0}


def _mean(values: Any, weights: Any) -> Any:
    keep = ~np.isnan(values)
    total = weights[keep].sum()
    return (values[keep] * weights[keep]).sum() / total if total > 0 else np.nan


def _scores(t: Any, p: Any, weights: Any, opts: MiouOptions) -> tuple[Any, Any]:
    c = len(weights)
    labels = list(range(c))
    fill = _FILL[opts.absent]
    if t.size == 0:
        per_class = [np.full(c, fill), np.full(c, fill)]
        cm = np.zeros((c, c), dtype=np.int64)
    else:
        with warnings.catch_warnings():  # labels= is given: one label present is fine
            warnings.filterwarnings("ignore", "A single label was found", UserWarning)
            cm = confusion_matrix(t, p, labels=labels)
        absent = (cm.sum(axis=0) + cm.sum(axis=1)) == 0
        per_class = [
            np.where(absent, fill, score(t, p, labels=labels, average=None, zero_division=0))
            for score in (jaccard_score, f1_score)
        ]
    if opts.average == "none":
        return per_class[0], per_class[1]
    if opts.average == "micro":
        if t.size == 0:
            return np.asarray(fill), np.asarray(fill)
        return tuple(  # type: ignore[return-value]
            np.asarray(score(t, p, labels=labels, average="micro", zero_division=0))
            for score in (jaccard_score, f1_score)
        )
    w = {"macro": np.ones(c), "weighted": weights}.get(opts.average)
    w = cm.sum(axis=1).astype(np.float64) if w is None else w
    return _mean(per_class[0], w), _mean(per_class[1], w)


@implementation("miou_mdice", "library", "sklearn", arrays="numpy", requires=("sklearn",))
def miou_mdice(pred: Any, target: Any, class_weights: Any, opts: MiouOptions) -> Any:
    """sklearn's per-class jaccard_score / f1_score over the valid pixels, per image when
    asked; the absent rule and the NaN-skipping means are the adapter's."""
    dtype = check(pred, target, class_weights, opts)
    weights = class_weights.astype(np.float64)
    valid = target != opts.ignore_index if opts.ignore_index is not None else None

    def pixels(i: Any) -> tuple[Any, Any]:
        t, p = target[i].ravel(), pred[i].ravel()
        keep = valid[i].ravel() if valid is not None else slice(None)
        return t[keep], p[keep]

    if opts.accumulate == "dataset":
        iou, dice = _scores(*pixels(slice(None)), weights, opts)
    else:
        pairs = [_scores(*pixels(i), weights, opts) for i in range(len(pred))]
        shape = (len(pairs), len(weights)) if opts.average == "none" else (len(pairs),)
        with np.errstate(invalid="ignore"):
            iou, dice = (
                np.nanmean(np.array([p[k] for p in pairs]).reshape(shape), axis=0)
                if pairs
                else np.full(shape[1:], np.nan)
                for k in (0, 1)
            )
    return np.asarray(iou).astype(dtype), np.asarray(dice).astype(dtype)
