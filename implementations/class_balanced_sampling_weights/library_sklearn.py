"""sklearn.utils.class_weight.compute_class_weight('balanced') over the classes present in the
labels, as a practitioner calls it; the inverse scheme is the same weights times C'/N (an
adapter), the samples' weights a gather. The effective number has no sklearn counterpart.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.class_weight import compute_class_weight

from harness import implementation
from suites.class_balanced_sampling_weights import BalanceOptions, check


@implementation("class_balanced_sampling_weights", "library", "sklearn", arrays="numpy",
                requires=("sklearn",),
                supports={"scheme": ("inverse", "balanced")})  # fmt: skip
def class_balanced_sampling_weights(labels: Any, num_classes: Any, beta: Any,
                                    num_samples: Any, opts: BalanceOptions) -> Any:  # fmt: skip
    """compute_class_weight('balanced', classes=present, y=labels), scattered into (C,)."""
    check(labels, num_classes, beta, num_samples)
    present = np.unique(labels)
    balanced = compute_class_weight("balanced", classes=present, y=labels)
    w = np.zeros(int(num_classes))
    w[present] = balanced if opts.scheme == "balanced" else balanced * len(present) / len(labels)
    if opts.normalize == "sum_to_classes":
        w *= len(present) / w.sum()
    return w, w[labels]
