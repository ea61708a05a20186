"""hungarian_assignment in NumPy: Jonker-Volgenant with every pass over a row vectorised.

The start is whole-matrix NumPy: for square finite matrices, JV's column reduction and
reduction transfer (every row's second-best slack at once); otherwise each row's cheapest
column, first come first served (column prices stay 0, as rectangular optimality needs).
A bounded augmenting row reduction follows (two NumPy argmins per row scan). Each row left
free then runs a Dijkstra search whose step is a handful of NumPy calls over the columns:
relax through the newly reached row, take the minimum, and prefer a free column among
equal minima, which ends searches early when costs tie.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.hungarian_assignment import ARGS, INFEASIBLE, AssignmentOptions

ARR_BUDGET = 4  # row-reduction scans per row at most


def _column_start(c: np.ndarray, v: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Square, finite: prices at the column minima, each row keeps one column that picked it
    (the lowest-priced), and rows matched once transfer their second-best slack."""
    n = c.shape[0]
    v[:] = c.min(axis=0)
    picker = c.argmin(axis=0)  # the row each column prefers
    order = np.lexsort((v, picker))  # by row, cheapest column first
    rows, first = np.unique(picker[order], return_index=True)
    x[rows] = order[first]
    y[order[first]] = rows
    once = rows[np.bincount(picker, minlength=n)[rows] == 1]
    if once.size:
        slack = c[once] - v
        slack[np.arange(once.size), x[once]] = np.inf
        v[x[once]] -= slack.min(axis=1)
    return np.flatnonzero(x < 0)


def _row_start(c: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Any shape with rows <= columns: each row's cheapest column, first come first served
    (prices stay 0, so unmatched columns keep the price rectangular optimality needs)."""
    best = c.argmin(axis=1)
    finite = np.isfinite(c[np.arange(c.shape[0]), best])
    cols, first = np.unique(best[finite], return_index=True)
    rows = np.flatnonzero(finite)[first]
    x[rows], y[cols] = cols, rows
    return np.flatnonzero(x < 0)


def _row_reduction(
    c: np.ndarray, v: np.ndarray, x: np.ndarray, y: np.ndarray, free: np.ndarray, budget: int
) -> list[int]:
    """JV's augmenting row reduction, at most ``budget`` row scans in two rounds: a row takes
    its cheapest column, whose price drops until the row's second-best is as good, and the
    row it displaces goes next. Returns the rows left free."""
    todo, steps = [int(i) for i in free], 0
    for _ in range(2):
        later: list[int] = []
        while todo:
            i = todo.pop()
            if steps >= budget:
                later.append(i)
                continue
            h = c[i] - v
            j1 = int(h.argmin())
            u1, h[j1] = h[j1], np.inf
            j2 = int(h.argmin())
            u2 = h[j2]
            if u2 == np.inf:  # one allowed pair at most: left to the searches
                later.append(i)
                continue
            steps += 1
            i0 = int(y[j1])
            if u1 < u2:
                v[j1] -= u2 - u1
            elif i0 >= 0:  # a tie: take the second column, it may be free
                j1, i0 = j2, int(y[j2])
            x[i], y[j1] = j1, i
            if i0 >= 0:
                x[i0] = -1
                (todo if u1 < u2 else later).append(i0)
        todo = later
    return todo


def _augment(c: np.ndarray, v: np.ndarray, x: np.ndarray, y: np.ndarray, free: Any) -> None:
    """Shortest augmenting path from each free row (implicit row potentials, as JV)."""
    m = c.shape[1]
    for f in free:
        open_d = c[f] - v  # distances of the open columns; settled ones are +inf here
        is_open = np.ones(m, dtype=bool)
        pred = np.full(m, f)
        free_idx = np.flatnonzero(y < 0)  # fixed during the search
        settled: list[int] = []
        settled_d: list[float] = []
        while True:
            j = int(open_d.argmin())
            lowest = float(open_d[j])
            if lowest == np.inf:
                raise ValueError(INFEASIBLE)
            if y[j] >= 0:  # a free column at the same distance ends the search now
                k = int(open_d[free_idx].argmin())
                j = int(free_idx[k]) if open_d[free_idx[k]] == lowest else j
            if y[j] < 0:
                break
            i = int(y[j])
            settled.append(j)
            settled_d.append(lowest)
            open_d[j], is_open[j] = np.inf, False
            through = c[i] - v
            through += lowest - through[j]
            shorter = through < open_d
            shorter &= is_open
            np.copyto(open_d, through, where=shorter)
            pred[shorter] = i
        if settled:  # prices of the settled columns: keep their slacks >= 0
            v[settled] += np.asarray(settled_d) - lowest
        while True:  # flip the path
            i = int(pred[j])
            y[j] = i
            j, x[i] = int(x[i]), j
            if i == f:
                break


@implementation("hungarian_assignment", "numpy", "jv")
def hungarian_assignment(cost: Any, opts: AssignmentOptions) -> Any:
    """Vectorised JV start, then shortest augmenting paths with one NumPy pass per step."""
    ARGS.check(cost)
    c = np.asarray(cost, dtype=np.float64)
    c = np.where(np.isposinf(c), np.inf, -c) if opts.maximize else c
    tall = c.shape[0] > c.shape[1]
    c = np.ascontiguousarray(c.T) if tall else c
    n, m = c.shape
    x, y, v = np.full(n, -1, np.int64), np.full(m, -1, np.int64), np.zeros(m)
    if n == m and n > 1 and bool(np.isfinite(c).all()):
        free = _column_start(c, v, x, y)
    else:
        free = _row_start(c, x, y) if n else x[:0]
    _augment(c, v, x, y, _row_reduction(c, v, x, y, free, ARR_BUDGET * n) if m > 1 else free)
    if not tall:
        return np.arange(n, dtype=np.int64), x
    order = np.argsort(x)
    return x[order], order.astype(np.int64)
