"""kmeans_lloyd in NumPy: per block of rows one matrix product x @ (-2c)^T plus |c|^2 (|x|^2
is the same for every centre, so argmin does without it), argmin for the labels; the update
sums each feature with one float64 bincount weighted by that feature. Inertia is computed
directly, sum |x - c[label]|^2, at the end.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.kmeans_lloyd import KMeansOptions, check_inputs, empty_cluster_error, threshold

ROWS = 4096  # rows per block: the (rows, K) scores stay within a few MB


def _assign(x: Any, c: Any, labels: Any) -> None:
    """labels[i] = argmin_j |c_j|^2 - 2 x_i.c_j (first minimum: lowest index on ties)."""
    ct = (c * c.dtype.type(-2)).T.copy()  # scaling by -2 is exact
    c2 = np.einsum("kd,kd->k", c, c)
    for s in range(0, len(x), ROWS):
        scores = x[s : s + ROWS] @ ct
        scores += c2
        np.argmin(scores, axis=1, out=labels[s : s + ROWS])


def _relocated(x: Any, c: Any, labels: Any, counts: Any) -> Any:
    """sklearn's relocation: the empty clusters (ascending) take the points farthest from
    their own centres (float64 squared distances, descending, ties to the lower index) for
    this update; the labels stay."""
    diff = x - c[labels]
    dist = np.einsum("nd,nd->n", diff, diff, dtype=np.float64)
    if not dist.size or dist.max() == 0:
        return labels
    empty = np.flatnonzero(counts == 0)
    owner = labels.copy()
    owner[np.argsort(-dist, kind="stable")[: len(empty)]] = empty
    return owner


@implementation("kmeans_lloyd", "numpy", "gemm")
def kmeans(x: Any, centers: Any, max_iter: int, tol: float, opts: KMeansOptions) -> Any:
    """GEMM-scored assignment, bincount update (float64 sums), labels-unchanged stop."""
    dtype = check_inputs(x, centers, max_iter, tol)
    (n, d), k = x.shape, len(centers)
    xt = np.ascontiguousarray(x.T, dtype=np.float64)  # one row per feature: bincount weights
    bound = threshold(np.var(xt, axis=1).mean() if d else 0.0, tol, opts)
    c = centers.astype(dtype, copy=True)
    labels, previous = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    for iteration in range(1, max_iter + 1):
        labels, previous = previous, labels  # the last iteration's labels stay in previous
        _assign(x, c, labels)
        counts = np.bincount(labels, minlength=k)
        if opts.empty_cluster == "raise" and not counts.all():
            raise empty_cluster_error(int(np.argmin(counts)), iteration)
        owner = labels
        if opts.empty_cluster == "relocate" and not counts.all():
            owner = _relocated(x, c, labels, counts)
            counts = np.bincount(owner, minlength=k)
        sums = np.empty((k, d))
        for f in range(d):
            sums[:, f] = np.bincount(owner, weights=xt[f], minlength=k)
        full = counts > 0
        new = c.copy()
        new[full] = sums[full] / counts[full, None]
        shift = float(np.sum((new.astype(np.float64) - c) ** 2))
        c = new
        if shift <= bound or (iteration > 1 and np.array_equal(labels, previous)):
            break
    if opts.final_assignment and shift > 0:
        _assign(x, c, labels)
    diff = x - c[labels]
    inertia = np.einsum("nd,nd->", diff, diff, dtype=np.float64)
    return c, labels, dtype.type(inertia), iteration
