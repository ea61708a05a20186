"""dbscan in pure Python: neighbour lists by a double loop over pairs (direct squared
differences, each pair once), then breadth-first expansion from the core points in index
order with a deque.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from harness import implementation
from suites.dbscan import check_inputs


@implementation("dbscan", "python", "bfs", max_flops=2e7)
def dbscan(x: Any, eps: float, min_samples: int) -> Any:
    """Pairs once each, then index-order breadth-first expansion."""
    check_inputs(x, eps, min_samples)
    n, eps2 = len(x), float(eps) * float(eps)
    near: list[list[int]] = [[i] for i in range(n)]
    for i in range(n):
        xi = x[i]
        for j in range(i + 1, n):
            d2 = 0.0
            for a, b in zip(xi, x[j], strict=True):
                d2 += (a - b) * (a - b)
            if d2 <= eps2:
                near[i].append(j)
                near[j].append(i)
    core = [len(v) >= min_samples for v in near]
    labels = [-1] * n
    cluster = 0
    for seed in range(n):
        if not core[seed] or labels[seed] >= 0:
            continue
        labels[seed] = cluster
        queue = deque([seed])
        while queue:
            for j in near[queue.popleft()]:
                if labels[j] < 0:
                    labels[j] = cluster
                    if core[j]:
                        queue.append(j)
        cluster += 1
    return labels, core
