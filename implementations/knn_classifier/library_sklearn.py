"""sklearn.neighbors.KNeighborsClassifier(n_neighbors=k, weights, algorithm='brute'):
fit on (x, y), predict q; predictions as int64."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.neighbors import KNeighborsClassifier

from harness import implementation
from suites.knn_classifier import KnnOptions, check_inputs


@implementation(
    "knn_classifier",
    "library",
    "sklearn",
    arrays="numpy",
    requires=("sklearn",),
    expected_failures={"no_queries": "sklearn refuses to predict 0 samples (ValueError)"},
)
def knn_classifier(x: Any, y: Any, q: Any, k: int, opts: KnnOptions) -> Any:
    """fit(x, y).predict(q) with brute-force neighbours."""
    check_inputs(x, y, q, k)
    model = KNeighborsClassifier(n_neighbors=k, weights=opts.weights, algorithm="brute")
    return model.fit(x, y).predict(q).astype(np.int64)
