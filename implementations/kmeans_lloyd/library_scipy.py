"""kmeans_lloyd via scipy.cluster.vq.kmeans2(minit='matrix'), one iteration per call.

kmeans2 runs a fixed number of iterations (vq for the labels, then the means; an empty
cluster keeps its previous centre) and reports neither a count nor convergence: the adapter
calls it with iter=1 on the previous code book and applies the suite's stopping rule. Its
labels are those of the last assignment step (final_assignment=False); for True one more vq
call reassigns them. missing='raise' gives empty_cluster='raise' (ClusterError, re-raised as
ValueError).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.cluster.vq import ClusterError, kmeans2, vq

from harness import implementation
from suites.kmeans_lloyd import KMeansOptions, check_inputs, threshold


@implementation(
    "kmeans_lloyd",
    "library",
    "scipy",
    arrays="numpy",
    requires=("scipy",),
    supports={"empty_cluster": ("keep", "raise")},  # kmeans2 never relocates
    expected_failures={"no_features": "kmeans2 refuses x with 0 features (Empty input)"},
)
def kmeans(x: Any, centers: Any, max_iter: int, tol: float, opts: KMeansOptions) -> Any:
    """kmeans2(x, code, iter=1, minit='matrix') until the shift or the labels settle."""
    check_inputs(x, centers, max_iter, tol)
    bound = threshold(np.var(x, axis=0, dtype=np.float64).mean() if x.shape[1] else 0.0, tol, opts)
    missing = "raise" if opts.empty_cluster == "raise" else "warn"
    code, previous = centers, None
    with warnings.catch_warnings():  # missing='warn' warns on every empty cluster
        warnings.simplefilter("ignore")
        for iteration in range(1, max_iter + 1):
            try:
                new, labels = kmeans2(x, code, iter=1, minit="matrix", missing=missing,
                                      check_finite=False)  # fmt: skip
            except ClusterError as exc:
                raise ValueError(f"empty cluster at iteration {iteration}: {exc}") from None
            shift = float(np.sum((new.astype(np.float64) - code) ** 2))
            code = new
            if shift <= bound or (previous is not None and np.array_equal(labels, previous)):
                break
            previous = labels
    if opts.final_assignment and shift > 0:
        labels = vq(x, code, check_finite=False)[0]
    diff = x - code[labels]
    inertia = np.einsum("nd,nd->", diff, diff, dtype=np.float64)
    return code, labels.astype(np.int64), x.dtype.type(inertia), iteration
