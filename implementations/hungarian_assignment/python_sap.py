"""hungarian_assignment in pure Python: shortest augmenting paths on lists of floats.

Rows take their cheapest column first (column prices at 0, so rectangular optimality
holds); every row left over runs a Dijkstra search over a shrinking list of open columns
(swap-remove, as Crouse's rectangular LSAP), relaxing through one row per step and
preferring a free column among equal minima. Float64 arithmetic throughout (integers are
converted with float(), exact below 2**53).
"""

from __future__ import annotations

import math
from typing import Any

from harness import implementation
from suites.hungarian_assignment import ARGS, INFEASIBLE, AssignmentOptions

INF = math.inf


def _solve(c: list[list[float]], m: int) -> list[int]:
    """Rows <= columns: the column of every row in a minimum-cost matching."""
    n = len(c)
    u, v = [0.0] * n, [0.0] * m
    x, y = [-1] * n, [-1] * m
    free = []
    for i, row in enumerate(c):  # row reduction: u = row minimum, v = 0
        best = min(row)
        j = row.index(best)
        if best < INF:
            u[i] = best
            if y[j] < 0:
                x[i], y[j] = j, i
                continue
        free.append(i)
    dist, pred = [INF] * m, [0] * m
    for start in free:
        for j in range(m):
            dist[j] = INF
        open_cols = list(range(m))
        settled: list[int] = []
        i, base = start, 0.0
        while True:
            row, shift = c[i], base - u[i]
            lowest, at = INF, -1
            for k, j in enumerate(open_cols):
                r = row[j] + shift - v[j]
                if r < dist[j]:
                    dist[j], pred[j] = r, i
                    r = dist[j]
                else:
                    r = dist[j]
                if r < lowest or (r == lowest and y[j] < 0):
                    lowest, at = r, k
            if lowest == INF:
                raise ValueError(INFEASIBLE)
            j = open_cols[at]
            open_cols[at] = open_cols[-1]
            open_cols.pop()
            if y[j] < 0:
                break
            settled.append(j)
            i, base = y[j], lowest
        u[start] += lowest
        for s in settled:  # reached rows and settled columns: slacks stay >= 0
            u[y[s]] += lowest - dist[s]
            v[s] -= lowest - dist[s]
        while True:  # flip the path
            i = pred[j]
            y[j] = i
            j, x[i] = x[i], j
            if i == start:
                break
    return x


CAP = 3.0 * 128 * 128 * 7  # the suite's cost model at 128 x 128


@implementation("hungarian_assignment", "python", "sap", max_flops=CAP)
def hungarian_assignment(cost: Any, opts: AssignmentOptions) -> tuple[list[int], list[int]]:
    """Row-minimum start, then Dijkstra over a swap-remove list of open columns."""
    ARGS.check(cost)
    sign = -1.0 if opts.maximize else 1.0
    c = [[x if x == INF else sign * float(x) for x in row] for row in cost]
    m = len(c[0]) if c else 0
    if len(c) > m:  # solve the transpose: rows <= columns
        rows_of_cols = _solve([list(col) for col in zip(*c, strict=True)], len(c))
        pairs = sorted(zip(rows_of_cols, range(m), strict=True))
        return [r for r, _ in pairs], [j for _, j in pairs]
    return list(range(len(c))), _solve(c, m)
