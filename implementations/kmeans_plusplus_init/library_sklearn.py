"""sklearn.cluster.kmeans_plusplus with n_local_trials=1 (classic k-means++) on sklearn's own
generator (the global NumPy one, which the harness seeds per case): it cannot take the
suite's uniforms, so it is judged by the D^2-law test (own_rng)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.cluster import kmeans_plusplus

from harness import implementation
from suites.kmeans_plusplus_init import check_inputs


@implementation(
    "kmeans_plusplus_init",
    "library",
    "sklearn",
    arrays="numpy",
    requires=("sklearn",),
    own_rng=True,
    expected_failures={
        "no_features": "sklearn refuses x with 0 features (ValueError)",
        "all_identical": "once every point lies on a chosen centre, sklearn picks the last "
        "point (its search runs off the end and is clipped), not the uniform rule floor(u*N)",
    },
)
def kmeans_plusplus_init(x: Any, u: Any) -> Any:
    """kmeans_plusplus(x, K, n_local_trials=1); indices int64."""
    check_inputs(x, u)
    centers, indices = kmeans_plusplus(x, len(u), random_state=None, n_local_trials=1)
    return centers, indices.astype(np.int64)
