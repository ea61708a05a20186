"""gale_shapley in pure Python: a stack of free proposers, a per-receiver dict of ranks,
one proposal at a time."""

from __future__ import annotations

from typing import Any

from harness import implementation
from suites.gale_shapley import GaleShapleyOptions, check_inputs


@implementation("gale_shapley", "python", "stack", max_flops=1e6)
def gale_shapley(proposer_prefs: Any, receiver_prefs: Any, opts: GaleShapleyOptions) -> Any:
    """Deferred acceptance with inverse-rank dicts."""
    check_inputs(proposer_prefs, receiver_prefs, opts)
    n, m = len(proposer_prefs), len(receiver_prefs)
    rank = [{i: k for k, i in enumerate(row) if i >= 0} for row in receiver_prefs]
    held = [-1] * m
    nxt = [0] * n
    free = list(range(n - 1, -1, -1))
    while free:
        i = free.pop()
        row = proposer_prefs[i]
        while nxt[i] < m and row[nxt[i]] >= 0:
            j = row[nxt[i]]
            nxt[i] += 1
            mine = rank[j].get(i)
            if mine is None:
                continue
            cur = held[j]
            if cur < 0 or mine < rank[j][cur]:
                held[j] = i
                if cur >= 0:
                    free.append(cur)
                break
    match = [-1] * n
    for j, i in enumerate(held):
        if i >= 0:
            match[i] = j
    return match
