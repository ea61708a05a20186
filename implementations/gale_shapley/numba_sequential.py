"""gale_shapley in Numba: deferred acceptance one proposal at a time from a stack of free
proposers, with the receivers' inverse-rank table; each proposal is two table reads and a
comparison.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.gale_shapley import GaleShapleyOptions, check_inputs


@numba.njit(cache=False)
def _match(p: Any, r: Any) -> Any:
    n, m = p.shape
    rank = np.full((m, n), n, dtype=np.int64)
    for j in range(m):
        for k in range(n):
            if r[j, k] >= 0:
                rank[j, r[j, k]] = k
    held = np.full(m, -1, dtype=np.int64)
    nxt = np.zeros(n, dtype=np.int64)
    stack = np.empty(n, dtype=np.int64)
    for t in range(n):
        stack[t] = n - 1 - t
    top = n
    while top > 0:
        top -= 1
        i = stack[top]
        while nxt[i] < m and p[i, nxt[i]] >= 0:
            j = p[i, nxt[i]]
            nxt[i] += 1
            mine = rank[j, i]
            if mine == n:
                continue
            cur = held[j]
            if cur < 0:
                held[j] = i
                break
            if mine < rank[j, cur]:
                held[j] = i
                stack[top] = cur
                top += 1
                break
    match = np.full(n, -1, dtype=np.int64)
    for j in range(m):
        if held[j] >= 0:
            match[held[j]] = j
    return match


@implementation("gale_shapley", "numba", "sequential")
def gale_shapley(proposer_prefs: Any, receiver_prefs: Any, opts: GaleShapleyOptions) -> Any:
    """Stack of free proposers, inverse-rank table, one proposal at a time."""
    check_inputs(proposer_prefs, receiver_prefs, opts)
    n, m = len(proposer_prefs), len(receiver_prefs)
    p = np.ascontiguousarray(proposer_prefs, dtype=np.int64).reshape(n, m)
    return _match(p, np.ascontiguousarray(receiver_prefs, dtype=np.int64).reshape(m, n))
