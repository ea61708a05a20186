"""sklearn.metrics.roc_auc_score(labels, scores, average=), as a practitioner calls it
(average='none' is its average=None, the per-label AUCs)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from harness import implementation
from suites.roc_auc import AucOptions, check


@implementation("roc_auc", "library", "sklearn", arrays="numpy", requires=("sklearn",))
def roc_auc(scores: Any, labels: Any, opts: AucOptions) -> Any:
    """roc_auc_score(y_true=labels, y_score=scores, average=...)."""
    dtype = check(scores, labels, opts)
    average = None if opts.average == "none" else opts.average
    return np.asarray(roc_auc_score(labels, scores, average=average), dtype=dtype)
