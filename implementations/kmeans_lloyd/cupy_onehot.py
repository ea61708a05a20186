"""kmeans_lloyd in CuPy: per block of rows a cuBLAS product x @ (-2c)^T plus |c|^2 and argmin
(first minimum: lowest index on ties), then the block's float64 sums as one more product,
onehot(labels)^T @ x. No atomics: the sums, hence the centres, are the same bits run after
run, and the convergence test reads two scalars back per iteration.
"""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.kmeans_lloyd import KMeansOptions, check_inputs, empty_cluster_error, threshold

SCORES = 1 << 22  # elements of one block of (rows, K) scores and one-hot rows


def _pass(x: Any, x64: Any, c: Any, labels: Any, sums: Any | None) -> None:
    """Assign every point; add each block's points to ``sums`` (K, D) unless it is None."""
    ct = (c * c.dtype.type(-2)).T  # scaling by -2 is exact
    c2 = (c * c).sum(axis=1)
    ids = cp.arange(len(c))
    rows = max(1, SCORES // len(c))
    for s in range(0, len(x), rows):
        scores = x[s : s + rows] @ ct
        scores += c2
        block = scores.argmin(axis=1)
        labels[s : s + rows] = block
        if sums is not None:
            onehot = (block[:, None] == ids).astype(cp.float64)
            sums += onehot.T @ x64[s : s + rows]


@implementation("kmeans_lloyd", "cupy", "onehot", supports={"empty_cluster": ("keep", "raise")})
def kmeans(x: Any, centers: Any, max_iter: int, tol: float, opts: KMeansOptions) -> Any:
    """GEMM scores, argmin, one-hot GEMM sums (deterministic), on the current device."""
    dtype = check_inputs(x, centers, max_iter, tol)
    (n, d), k = x.shape, len(centers)
    x = x.astype(dtype, copy=False)
    x64 = x.astype(cp.float64, copy=False)
    bound = threshold(float(x64.var(axis=0).mean()) if d else 0.0, tol, opts)
    c = centers.astype(dtype, copy=True)
    labels, previous = cp.empty(n, dtype=cp.int64), cp.empty(n, dtype=cp.int64)
    for iteration in range(1, max_iter + 1):
        labels, previous = previous, labels
        sums = cp.zeros((k, d), dtype=cp.float64)
        _pass(x, x64, c, labels, sums)
        counts = cp.bincount(labels, minlength=k)
        if opts.empty_cluster == "raise" and not bool(counts.all()):
            raise empty_cluster_error(int(counts.argmin()), iteration)
        full = counts > 0
        means = (sums / cp.maximum(counts, 1)[:, None]).astype(dtype)
        new = cp.where(full[:, None], means, c)
        shift = float(((new.astype(cp.float64) - c) ** 2).sum())
        c = new
        if shift <= bound or (iteration > 1 and bool((labels == previous).all())):
            break
    if opts.final_assignment and shift > 0:
        _pass(x, x64, c, labels, None)
    diff = (x - c[labels]).astype(cp.float64)
    inertia = (diff * diff).sum().astype(dtype)
    return c, labels, inertia, iteration
