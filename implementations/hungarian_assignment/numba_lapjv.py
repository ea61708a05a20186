"""hungarian_assignment in Numba: compiled Jonker-Volgenant (LAPJV) on float64.

On the orientation with rows <= columns. Square matrices without +inf start with JV's
column reduction and reduction transfer; every shape then runs JV's augmenting row
reduction (bounded: at most ARR_BUDGET row scans per row), which leaves few rows free on
random costs. Rectangular ones start it from column prices 0: only matched columns' prices
ever move, and rectangular optimality needs the unmatched ones at 0. Each free row then
runs JV's Dijkstra search, which settles every column at the current minimum distance
together (its scan list) and stops at the first free column.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.hungarian_assignment import ARGS, INFEASIBLE, AssignmentOptions

INF = np.inf
ARR_BUDGET = 8  # row-reduction scans per row at most (tuned on uniform 256 to 2000)


@numba.njit(cache=False)
def _column_start(c: Any, v: Any, x: Any, y: Any) -> Any:
    """Square, finite: JV's column reduction and reduction transfer. Fills the prices v and
    the matching x (row -> col), y (col -> row); returns the rows left free."""
    n = c.shape[0]
    col_min = c[0].copy()
    arg_min = np.zeros(n, dtype=np.int64)
    for i in range(1, n):  # row-major pass for the column minima (first row wins ties)
        ci = c[i]
        for j in range(n):
            if ci[j] < col_min[j]:
                col_min[j] = ci[j]
                arg_min[j] = i
    matches = np.zeros(n, dtype=np.int64)
    for j in range(n - 1, -1, -1):  # reverse order, as JV
        i = arg_min[j]
        v[j] = col_min[j]
        matches[i] += 1
        if matches[i] == 1:
            x[i], y[j] = j, i
        elif v[j] < v[x[i]]:
            y[x[i]] = -1
            x[i], y[j] = j, i
    free = np.empty(n, dtype=np.int64)
    nfree = 0
    for i in range(n):
        if matches[i] == 0:
            free[nfree] = i
            nfree += 1
        elif matches[i] == 1:  # transfer: lower the price by the row's second-best slack
            j1, ci = x[i], c[i]
            best = INF
            for j in range(n):
                if j != j1 and ci[j] - v[j] < best:
                    best = ci[j] - v[j]
            v[j1] -= best
    return free[:nfree]


@numba.njit(cache=False)
def _row_reduction(c: Any, v: Any, x: Any, y: Any, free: Any, budget: int) -> Any:
    """JV's augmenting row reduction, two rounds of at most ``budget`` row scans in all
    (an unbounded chain of displacements can cost more than the searches it saves).
    A row takes its cheapest column, whose price drops so the row's second-best is as
    good; the row it displaces goes next. Returns the rows left free."""
    m = c.shape[1]
    free = free.copy()
    nfree, steps = free.shape[0], 0
    for _ in range(2):
        k, previous, nfree = 0, nfree, 0
        while k < previous:
            i = free[k]
            k += 1
            if steps >= budget:
                free[nfree] = i
                nfree += 1
                continue
            ci = c[i]
            u1, u2, j1, j2 = ci[0] - v[0], INF, 0, -1
            for j in range(1, m):
                h = ci[j] - v[j]
                if h < u2:
                    if h >= u1:
                        u2, j2 = h, j
                    else:
                        u2, u1, j2, j1 = u1, h, j1, j
            if u2 == INF:  # one allowed pair at most: left to the searches
                free[nfree] = i
                nfree += 1
                continue
            steps += 1
            i0 = y[j1]
            if u1 < u2:
                v[j1] -= u2 - u1
            elif i0 >= 0:  # a tie: take the second column, it may be free
                j1 = j2
                i0 = y[j2]
            x[i], y[j1] = j1, i
            if i0 >= 0:
                x[i0] = -1
                if u1 < u2:
                    k -= 1
                    free[k] = i0
                else:
                    free[nfree] = i0
                    nfree += 1
    return free[:nfree]


@numba.njit(cache=False)
def _augment(c: Any, v: Any, x: Any, y: Any, free: Any) -> bool:
    """JV's shortest augmenting path from every free row; False when infeasible."""
    m = c.shape[1]
    d = np.empty(m)
    pred = np.empty(m, dtype=np.int64)
    cols = np.empty(m, dtype=np.int64)
    for f in free:
        for j in range(m):
            d[j] = c[f, j] - v[j]
            pred[j] = f
            cols[j] = j
        # cols: [0, low) settled, [low, up) at the current minimum, [up, m) still open
        low, up, last, lowest, end = 0, 0, 0, INF, -1
        while end < 0:
            if up == low:  # gather every open column at the new minimum distance
                last = low
                lowest = d[cols[up]]
                up += 1
                for k in range(up, m):
                    j = cols[k]
                    h = d[j]
                    if h <= lowest:
                        if h < lowest:
                            up, lowest = low, h
                        cols[k], cols[up] = cols[up], j
                        up += 1
                if lowest == INF:
                    return False
                for k in range(low, up):
                    if y[cols[k]] < 0:
                        end = cols[k]
                        break
                if end >= 0:
                    break
            j1 = cols[low]  # settle one column and relax through its row
            low += 1
            i = y[j1]
            shift = c[i, j1] - v[j1] - lowest
            ci = c[i]
            for k in range(up, m):
                j = cols[k]
                h = ci[j] - v[j] - shift
                if h < d[j]:
                    d[j] = h
                    pred[j] = i
                    if h == lowest:
                        if y[j] < 0:
                            end = j
                            break
                        cols[k], cols[up] = cols[up], j
                        up += 1
        for k in range(last):  # settled before the last minimum: lower their prices
            j = cols[k]
            v[j] += d[j] - lowest
        while True:  # flip the path
            i = pred[end]
            y[end] = i
            end, x[i] = x[i], end
            if i == f:
                break
    return True


@implementation("hungarian_assignment", "numba", "lapjv")
def hungarian_assignment(cost: Any, opts: AssignmentOptions) -> Any:
    """LAPJV start (square, finite) or row reduction, then compiled JV augmenting paths."""
    ARGS.check(cost)
    c = np.asarray(cost, dtype=np.float64)
    c = np.where(np.isposinf(c), INF, -c) if opts.maximize else c
    tall = c.shape[0] > c.shape[1]
    c = np.ascontiguousarray(c.T if tall else c)
    n, m = c.shape
    x, y, v = np.full(n, -1, np.int64), np.full(m, -1, np.int64), np.zeros(m)
    if n == m and n > 1 and bool(np.isfinite(c).all()):
        free = _column_start(c, v, x, y)
    else:  # rectangular (unmatched columns keep price 0) or with forbidden pairs
        free = np.arange(n, dtype=np.int64)
    free = _row_reduction(c, v, x, y, free, ARR_BUDGET * n) if m > 1 else free
    if n and not _augment(c, v, x, y, free):
        raise ValueError(INFEASIBLE)
    if not tall:
        return np.arange(n, dtype=np.int64), x
    order = np.argsort(x)
    return x[order], order.astype(np.int64)
