"""sklearn.cluster.DBSCAN(eps, min_samples, algorithm='brute'): labels_ as int64 and the
core flags from core_sample_indices_."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.cluster import DBSCAN

from harness import implementation
from suites.dbscan import check_inputs


@implementation(
    "dbscan",
    "library",
    "sklearn",
    arrays="numpy",
    requires=("sklearn",),
    expected_failures={
        "no_points": "sklearn refuses x with 0 samples (ValueError)",
        "no_features": "sklearn refuses x with 0 features (ValueError)",
    },
)
def dbscan(x: Any, eps: float, min_samples: int) -> Any:
    """DBSCAN(...).fit(x); core flags from the core sample indices."""
    check_inputs(x, eps, min_samples)
    model = DBSCAN(eps=eps, min_samples=min_samples, algorithm="brute").fit(x)
    core = np.zeros(len(x), dtype=bool)
    core[model.core_sample_indices_] = True
    return model.labels_.astype(np.int64), core
