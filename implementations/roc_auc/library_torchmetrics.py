"""torchmetrics binary_auroc (1-D inputs) and multilabel_auroc (N, L) with average='macro',
'micro', 'weighted' (by positives, as sklearn) or 'none'; torchmetrics has no 'samples'
average (refused as unsupported). Exact curves (thresholds=None). Scores outside [0, 1] are
taken as logits and passed through a sigmoid first: monotone, so the AUC is the same unless
the sigmoid rounds distinct scores onto one value.
"""

from __future__ import annotations

from typing import Any

import torch
from torchmetrics.functional.classification import binary_auroc, multilabel_auroc

from harness import implementation
from suites.roc_auc import AucOptions, check

# the curve's rates are count ratios that torchmetrics divides in float32
_F32 = "torchmetrics divides the counts in float32: ~1e-8 relative, past the float64 tolerance"


@implementation(
    "roc_auc",
    "library",
    "torchmetrics",
    arrays="torch_cpu",
    requires=("torchmetrics", "torch"),
    supports={"average": ("macro", "micro", "weighted", "none")},
    expected_failures={
        "random_f64": _F32,
        "levels_ties_f64": _F32,
        "near_ties_f64": _F32,
        "many_f64": _F32,
        "multilabel_levels_none_f64": _F32,
    },
)
def roc_auc(scores: Any, labels: Any, opts: AucOptions) -> Any:
    """binary_auroc(scores, labels), or multilabel_auroc(..., num_labels=L, average=)."""
    dtype = check(scores, labels, opts)
    if scores.ndim == 1:
        out = binary_auroc(scores, labels)
    else:
        average: Any = opts.average  # one of torchmetrics' Literal values (supports)
        out = multilabel_auroc(scores, labels, num_labels=scores.shape[1], average=average)
    return torch.as_tensor(out).to(dtype)
