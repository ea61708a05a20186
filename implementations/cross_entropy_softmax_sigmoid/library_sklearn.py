"""sklearn.metrics.log_loss as a practitioner calls it: class-index targets and predicted
probabilities (predict_proba's rows), the class weights passed as per-sample weights.

log_loss(y, P, sample_weight=w[y], labels=range(C)) is Σ w[y_i]·(-log p_i,y_i) / Σ w[y_i]
(normalize=True: np.average with the weights, torch's weighted mean) or the weighted sum
(normalize=False). Ignored targets get sample weight 0 and a stand-in label 0, so they leave
both sums. The K-dimensional input (N, C, *S) is moved to (N·S, C) rows first.

sklearn clips the probabilities to [eps, 1 - eps] with eps the dtype's machine epsilon, where
the suite (and F.nll_loss on log p clamped at -100) floors each log at -100: the two agree
unless a target's probability is below eps (an exactly one-hot row that misses gives
-log(eps) ≈ 15.9 in float32 here, 100 in the suite). A single class (C = 1) is given a
second, zero-probability column (log_loss wants two labels; the loss is unchanged), and no
samples, or only ignored or zero-weight ones, give torch's answers (mean 0/0 = NaN, sum 0),
which log_loss refuses to compute.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.metrics import log_loss

from harness import implementation
from suites.cross_entropy_softmax_sigmoid import CrossEntropyOptions, check

#: the one case whose probabilities are exactly 0 at some targets (see the docstring)
_CLIP = ("sklearn clips probabilities to [eps, 1 - eps] (eps of the dtype), where the suite "
         "floors log p at -100 as F.nll_loss callers and F.binary_cross_entropy do")  # fmt: skip


@implementation(
    "cross_entropy_softmax_sigmoid",
    "library",
    "sklearn",
    arrays="numpy",
    requires=("sklearn",),
    supports={"form": ("index",), "input": ("probabilities",), "reduction": ("mean", "sum")},
    expected_failures={"index_probabilities_exact_01": _CLIP},
)
def cross_entropy(pred: Any, target: Any, weight: Any, pos_weight: Any,
                  opts: CrossEntropyOptions) -> Any:  # fmt: skip
    """log_loss(labels, probability rows, sample_weight=weight[labels], normalize=mean)."""
    dtype = check(pred, target, weight, pos_weight, opts)
    c = pred.shape[1]
    rows = np.moveaxis(pred, 1, -1).reshape(-1, c)
    labels = target.reshape(-1)
    kept = labels != opts.ignore_index
    safe = np.where(kept, labels, 0)
    w = np.ones(c, dtype) if weight is None else weight
    sample_weight = np.where(kept, w[safe], 0.0)
    mean = opts.reduction == "mean"
    if not sample_weight.sum() > 0:  # log_loss refuses all-zero weights (and no samples)
        return np.asarray(math.nan if mean else 0.0, dtype)  # torch's 0/0 and empty sum
    if c == 1:
        rows = np.concatenate([rows, np.zeros_like(rows)], axis=1)
    loss = log_loss(safe, rows, sample_weight=sample_weight, labels=np.arange(max(c, 2)),
                    normalize=mean)  # fmt: skip
    return np.asarray(loss, dtype)
