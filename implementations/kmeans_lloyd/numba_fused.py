"""kmeans_lloyd in Numba: one compiled pass per iteration fuses the assignment and the sums.

For each point the scores |c|^2 - 2 x.c of all centres build up feature by feature in a
K-long row (the inner loop over centres vectorises; the centres' transposed matrix stays in
cache), a strict < scan picks the first minimum, and the point goes straight into float64
sums: x is read once per iteration. Serial on purpose: the suite is timed on one thread, and
a parallel (prange) kernel costs several more seconds of compilation per dtype.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.kmeans_lloyd import KMeansOptions, check_inputs, empty_cluster_error, threshold


@numba.njit(cache=False, fastmath={"contract"})
def _pass(x: Any, ct: Any, c2: Any, labels: Any, sums: Any, counts: Any, add: bool) -> None:
    """Assign every point; with ``add``, zero then fill the float64 ``sums`` (K, D) and the
    ``counts`` (K,)."""
    n, d = x.shape
    k = c2.shape[0]
    scores = np.empty(k, dtype=c2.dtype)
    if add:  # plain loops, not slice assignments: each of those costs compile time
        for j in range(k):
            counts[j] = 0
            for f in range(d):
                sums[j, f] = 0.0
    for i in range(n):
        for j in range(k):
            scores[j] = c2[j]
        for f in range(d):
            v = x[i, f]
            for j in range(k):
                scores[j] += v * ct[f, j]
        best, arg = scores[0], 0
        for j in range(1, k):
            if scores[j] < best:
                best, arg = scores[j], j
        labels[i] = arg
        if add:
            counts[arg] += 1
            for f in range(d):
                sums[arg, f] += x[i, f]


def _scores(c: Any) -> tuple[Any, Any]:
    return np.ascontiguousarray((c * c.dtype.type(-2)).T), np.einsum("kd,kd->k", c, c)


@implementation("kmeans_lloyd", "numba", "fused", supports={"empty_cluster": ("keep", "raise")})
def kmeans(x: Any, centers: Any, max_iter: int, tol: float, opts: KMeansOptions) -> Any:
    """Fused assign-and-sum kernel per iteration; centres updated in NumPy (K x D)."""
    dtype = check_inputs(x, centers, max_iter, tol)
    (n, d), k = x.shape, len(centers)
    x = np.ascontiguousarray(x, dtype=dtype)
    bound = threshold(np.var(x, axis=0, dtype=np.float64).mean() if d else 0.0, tol, opts)
    c = centers.astype(dtype, copy=True)
    sums, counts = np.empty((k, d)), np.empty(k, dtype=np.int64)
    labels, previous = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    for iteration in range(1, max_iter + 1):
        labels, previous = previous, labels
        _pass(x, *_scores(c), labels, sums, counts, True)
        if opts.empty_cluster == "raise" and not counts.all():
            raise empty_cluster_error(int(np.argmin(counts)), iteration)
        full = counts > 0
        new = c.copy()
        new[full] = sums[full] / counts[full, None]
        shift = float(np.sum((new.astype(np.float64) - c) ** 2))
        c = new
        if shift <= bound or (iteration > 1 and np.array_equal(labels, previous)):
            break
    if opts.final_assignment and shift > 0:
        _pass(x, *_scores(c), labels, sums, counts, False)
    diff = x - c[labels]
    inertia = np.einsum("nd,nd->", diff, diff, dtype=np.float64)
    return c, labels, dtype.type(inertia), iteration
