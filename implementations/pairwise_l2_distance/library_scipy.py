"""pairwise_l2_distance via scipy.spatial.distance.cdist: direct differences in float64.

The practitioner's CPU reference: 'euclidean' or 'sqeuclidean', result cast to the input dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.spatial.distance import cdist

from harness import implementation
from suites.pairwise_l2_distance import validate_points


@implementation(
    "pairwise_l2_distance",
    "library",
    "scipy",
    arrays="numpy",
    supports={"squared": (False, True)},
    requires=("scipy",),
)
def pairwise_l2_distance(a: Any, b: Any, *, squared: bool = False) -> Any:
    """cdist(a, b, 'sqeuclidean' if squared else 'euclidean'), cast back to the input dtype."""
    validate_points(a, b)
    if not isinstance(squared, bool):
        raise ValueError(f"squared must be a bool, got {squared!r}")
    dtype = np.result_type(a, b, np.float32)
    metric = "sqeuclidean" if squared else "euclidean"
    return cdist(a, b, metric=metric).astype(dtype, copy=False)
