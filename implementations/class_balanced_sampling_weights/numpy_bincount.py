"""class_balanced_sampling_weights in NumPy: one np.bincount, the (C,) weights, and one
np.take gather for the samples (the counts of the present classes only are transformed).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.class_balanced_sampling_weights import (
    BalanceOptions,
    check,
    class_weights_from_counts,
)


@implementation("class_balanced_sampling_weights", "numpy", "bincount")
def class_balanced_sampling_weights(labels: Any, num_classes: Any, beta: Any,
                                    num_samples: Any, opts: BalanceOptions) -> Any:  # fmt: skip
    """bincount, O(C) weights, take."""
    check(labels, num_classes, beta, num_samples)
    counts = np.bincount(labels, minlength=int(num_classes))
    w = class_weights_from_counts(counts, float(beta), opts)
    return w, np.take(w, labels)
