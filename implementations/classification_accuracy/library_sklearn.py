"""sklearn.metrics as a practitioner calls it: top_k_accuracy_score (its reversed stable sort
ranks the higher index first among equal scores; the lower-index order is the same call on
the classes reversed), accuracy_score on thresholded multi-label predictions (subset), and
1 - hamming_loss. Top-1 is accuracy_score of the argmax (as it is usually written; also for
two classes, where top_k_accuracy_score refuses a 2-D score); k >= C gives 1
(top_k_accuracy_score would warn that it is meaningless).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, hamming_loss, top_k_accuracy_score

from harness import implementation
from suites.classification_accuracy import AccuracyOptions, check


@implementation("classification_accuracy", "library", "sklearn", arrays="numpy",
                requires=("sklearn",))  # fmt: skip
def classification_accuracy(scores: Any, target: Any, k: Any, opts: AccuracyOptions) -> Any:
    """accuracy_score of the argmax / top_k_accuracy_score / accuracy_score / hamming_loss."""
    _, c = check(scores, target, k, opts)
    lower = opts.tie_break == "lower_index"
    if opts.task == "top_k":
        if k >= c:
            return np.asarray(1.0)
        if c <= 2 or k == 1:  # top-1 as usually written: accuracy_score of the argmax
            top = np.argmax(scores, 1) if lower else c - 1 - np.argmax(scores[:, ::-1], 1)
            return np.asarray(float(accuracy_score(target, top)))
        if lower:  # reversed classes: sklearn's higher-index-first is then lower-index-first
            return np.asarray(float(top_k_accuracy_score(
                c - 1 - target, scores[:, ::-1], k=k, labels=np.arange(c))))  # fmt: skip
        return np.asarray(float(top_k_accuracy_score(target, scores, k=k, labels=np.arange(c))))
    pred = (scores >= 0.5 if opts.threshold == "ge" else scores > 0.5).astype(np.int64)
    if opts.task == "subset":
        return np.asarray(float(accuracy_score(target, pred)))
    return np.asarray(1.0 - float(hamming_loss(target, pred)))
