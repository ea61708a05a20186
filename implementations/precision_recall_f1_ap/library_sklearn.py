"""sklearn.metrics.precision_recall_fscore_support(labels, scores >= threshold, average=,
beta=, zero_division=) and average_precision_score(labels, scores, average=), as a
practitioner calls them (average='none' is their average=None)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_fscore_support

from harness import implementation
from suites.precision_recall_f1_ap import PrfOptions, check


@implementation(
    "precision_recall_f1_ap", "library", "sklearn", arrays="numpy", requires=("sklearn",),
    # average_precision_score: the step sum over grouped ties only
    supports={"ap_interp": ("step",), "ties": ("grouped",)},
    expected_failures={"no_rows": "sklearn refuses empty inputs (ValueError)",
                       "no_rows_macro": "sklearn refuses empty inputs (ValueError)"},
)  # fmt: skip
def precision_recall_f1_ap(scores: Any, labels: Any, threshold: Any, beta: Any,
                           opts: PrfOptions) -> Any:  # fmt: skip
    """precision_recall_fscore_support on the thresholded scores, average_precision_score."""
    dtype = check(scores, labels, threshold, beta, opts)
    average = None if opts.average == "none" else opts.average
    zero = {"zero": 0.0, "one": 1.0, "nan": np.nan}[opts.zero_division]
    pred = (scores >= scores.dtype.type(threshold)).astype(np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no positives: sklearn warns and answers
        p, r, f, _ = precision_recall_fscore_support(
            labels, pred, beta=float(beta), average=average, zero_division=zero,
            labels=[1] if opts.average == "binary" else None,
        )  # fmt: skip
        ap_average = "macro" if average == "binary" else average  # ignored for binary
        ap = average_precision_score(labels, scores, average=ap_average)
    return tuple(np.asarray(v, dtype=dtype).reshape(np.shape(v)) for v in (p, r, f, ap))
