"""kmeans_lloyd via sklearn.cluster.KMeans(init=centers, n_init=1, algorithm='lloyd').

sklearn's loop is this suite's with final_assignment=True and tol_scale='variance' (it stops
on unchanged labels or a total squared shift <= tol times the mean feature variance, then
reassigns the labels to the returned centres). The absolute tol convention is passed as
tol / mean variance. Where a cluster empties, sklearn moves its centre to the point farthest
from its own centre (empty_cluster='relocate'); under 'keep' those cases are expected failures.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.cluster import KMeans

from harness import implementation
from suites.kmeans_lloyd import KMeansOptions, check_inputs

RELOCATES = (
    "sklearn relocates an empty cluster's centre to the point farthest from its centre "
    "(empty_cluster='keep' keeps it where it was)"
)


@implementation(
    "kmeans_lloyd",
    "library",
    "sklearn",
    arrays="numpy",
    requires=("sklearn",),
    # sklearn always reassigns at the end and never raises on an empty cluster
    supports={"final_assignment": (True,), "empty_cluster": ("keep", "relocate")},
    expected_failures={
        "emptied_mid_run_f32": RELOCATES,
        "duplicate_centre_f32": RELOCATES + "; the duplicate that loses the first tie is empty",
        "duplicate_centre_f64": RELOCATES + "; the duplicate that loses the first tie is empty",
        "no_features": "sklearn refuses x with 0 features (ValueError)",
    },
)
def kmeans(x: Any, centers: Any, max_iter: int, tol: float, opts: KMeansOptions) -> Any:
    """KMeans.fit on x with the given centres; labels int32 -> int64, inertia in x's dtype."""
    dtype = check_inputs(x, centers, max_iter, tol)
    spread = float(np.var(x, axis=0).mean()) if x.shape[1] else 0.0
    if opts.tol_scale == "absolute" and spread > 0:  # sklearn multiplies tol by the spread
        tol = tol / spread  # (all points equal: sklearn's bound is 0 whatever tol is)
    model = KMeans(len(centers), init=centers, n_init=1, max_iter=max_iter, tol=tol)
    with warnings.catch_warnings():  # fewer distinct clusters than K: the comparison judges
        warnings.simplefilter("ignore")
        model.fit(x)
    labels = model.labels_.astype(np.int64)
    return model.cluster_centers_, labels, dtype.type(model.inertia_), int(model.n_iter_)
