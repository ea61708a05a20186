"""kmeans_lloyd in torch (CPU or CUDA): per block of rows addmm(|c|^2, x, -2c^T) and argmin
(documented to return the first minimal index, so ties go to the lowest centre), then
bincount and index_add_ into float64 sums. The convergence test reads two scalars back per
iteration; on CUDA index_add_ accumulates with atomics in any order, which is why the
labels-unchanged test matters there.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.kmeans_lloyd import KMeansOptions, check_inputs, empty_cluster_error, threshold

SCORES = 1 << 22  # elements of one block of (rows, K) scores: 32 MB in float64


def _assign(x: Any, c: Any, labels: Any) -> None:
    ct, c2 = (c * -2).T, (c * c).sum(dim=1)  # scaling by -2 is exact
    rows = max(1, SCORES // len(c))
    for s in range(0, len(x), rows):
        torch.argmin(torch.addmm(c2, x[s : s + rows], ct), dim=1, out=labels[s : s + rows])


@implementation(
    "kmeans_lloyd",
    ("torch_cpu", "torch_cuda"),
    "addmm",
    supports={"empty_cluster": ("keep", "raise")},
)
def kmeans(x: Any, centers: Any, max_iter: int, tol: float, opts: KMeansOptions) -> Any:
    """Blocked addmm + argmin assignment, index_add_ update in float64, on x's device."""
    dtype = check_inputs(x, centers, max_iter, tol)
    (n, d), k = x.shape, len(centers)
    x = x.to(dtype)
    x64 = x.to(torch.float64)
    mean_variance = x64.var(dim=0, correction=0).mean().item() if d else 0.0
    bound = threshold(mean_variance, tol, opts)
    c = centers.to(dtype, copy=True)
    labels = torch.empty(n, dtype=torch.int64, device=x.device)
    previous = torch.empty_like(labels)
    for iteration in range(1, max_iter + 1):
        labels, previous = previous, labels
        _assign(x, c, labels)
        counts = torch.bincount(labels, minlength=k)
        if opts.empty_cluster == "raise" and not bool(counts.all()):
            raise empty_cluster_error(int(torch.argmin(counts)), iteration)
        sums = torch.zeros(k, d, dtype=torch.float64, device=x.device).index_add_(0, labels, x64)
        full = counts > 0
        new = torch.where(full[:, None], (sums / counts.clamp(min=1)[:, None]).to(dtype), c)
        shift = float(((new.to(torch.float64) - c) ** 2).sum())
        c = new
        if shift <= bound or (iteration > 1 and torch.equal(labels, previous)):
            break
    if opts.final_assignment and shift > 0:
        _assign(x, c, labels)
    inertia = ((x - c[labels]).to(torch.float64) ** 2).sum().to(dtype)
    return c, labels, inertia, iteration
