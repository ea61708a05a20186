"""kmeans_lloyd in pure Python: for each point a loop over the centres with direct squared
distances (strict < keeps the lowest index on ties), running sums per centre, Python floats
(double precision) throughout.
"""

from __future__ import annotations

from typing import Any

from harness import implementation
from suites.kmeans_lloyd import KMeansOptions, check_inputs, empty_cluster_error, threshold


def _nearest(point: list[float], centres: list[list[float]]) -> tuple[int, float]:
    best, best_d2 = 0, float("inf")
    for j, centre in enumerate(centres):
        d2 = 0.0
        for a, b in zip(point, centre, strict=True):
            d2 += (a - b) * (a - b)
        if d2 < best_d2:
            best, best_d2 = j, d2
    return best, best_d2


def _mean_variance(x: list[list[float]], d: int) -> float:
    n, total = len(x), 0.0
    for f in range(d):
        mean = sum(row[f] for row in x) / n
        total += sum((row[f] - mean) ** 2 for row in x) / n
    return total / d if d else 0.0


@implementation(
    "kmeans_lloyd", "python", "loops", max_flops=2e7, supports={"empty_cluster": ("keep", "raise")}
)
def kmeans(x: Any, centers: Any, max_iter: int, tol: float, opts: KMeansOptions) -> Any:
    """Assign by nearest centre, then average; stop on a small shift or unchanged labels."""
    check_inputs(x, centers, max_iter, tol)
    d = len(centers[0])
    bound = threshold(_mean_variance(x, d), tol, opts)
    c = [list(map(float, row)) for row in centers]
    previous: list[int] = []
    for iteration in range(1, max_iter + 1):
        labels = [_nearest(point, c)[0] for point in x]
        sums = [[0.0] * d for _ in c]
        counts = [0] * len(c)
        for point, j in zip(x, labels, strict=True):
            counts[j] += 1
            row = sums[j]
            for f in range(d):
                row[f] += point[f]
        shift, new = 0.0, []
        for j, (row, count) in enumerate(zip(sums, counts, strict=True)):
            if not count and opts.empty_cluster == "raise":
                raise empty_cluster_error(j, iteration)
            centre = [v / count for v in row] if count else c[j]
            shift += sum((a - b) ** 2 for a, b in zip(centre, c[j], strict=True))
            new.append(centre)
        c = new
        if shift <= bound or labels == previous:
            break
        previous = labels
    if opts.final_assignment and shift > 0:
        labels = [_nearest(point, c)[0] for point in x]
    inertia = 0.0
    for point, j in zip(x, labels, strict=True):
        inertia += sum((a - b) ** 2 for a, b in zip(point, c[j], strict=True))
    return c, labels, inertia, iteration
