"""gale_shapley in NumPy, in rounds: every free proposer proposes to the next receiver on
its list at once; per receiver a lexsort finds the best new proposal, which displaces the
held one when the receiver prefers it (inverse-rank table). Rejected and displaced
proposers are free in the next round; the result is the same proposer-optimal matching.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.gale_shapley import GaleShapleyOptions, check_inputs


@implementation("gale_shapley", "numpy", "rounds")
def gale_shapley(proposer_prefs: Any, receiver_prefs: Any, opts: GaleShapleyOptions) -> Any:
    """Rounds of simultaneous proposals; receivers keep the best by inverse rank."""
    check_inputs(proposer_prefs, receiver_prefs, opts)
    n, m = len(proposer_prefs), len(receiver_prefs)
    p = proposer_prefs.reshape(n, m)
    r = receiver_prefs.reshape(m, n)
    rank = np.full((m + 1, n), n, dtype=np.int64)  # row m: "no receiver", never acceptable
    rows, cols = np.nonzero(r >= 0)
    rank[rows, r[rows, cols]] = cols
    padded = np.concatenate([p, np.full((n, 1), -1, dtype=p.dtype)], axis=1)
    held = np.full(m + 1, -1, dtype=np.int64)
    nxt = np.zeros(n, dtype=np.int64)
    free = np.arange(n)
    while len(free):
        j = padded[free, nxt[free]]
        free = free[j >= 0]  # an exhausted list: unmatched for good
        j = j[j >= 0]
        nxt[free] += 1
        mine = rank[j, free]
        ok = mine < n  # proposals to receivers that do not list the proposer are void
        order = np.lexsort((mine[ok], j[ok]))
        ci, cj, cr = free[ok][order], j[ok][order], mine[ok][order]
        first = np.ones(len(cj), dtype=bool)
        first[1:] = cj[1:] != cj[:-1]
        bi, bj, br = ci[first], cj[first], cr[first]
        cur = held[bj]
        win = (cur < 0) | (br < rank[bj, np.maximum(cur, 0)])
        held[bj[win]] = bi[win]
        losers = np.ones(n, dtype=bool)
        losers[bi[win]] = False
        displaced = cur[win & (cur >= 0)]
        free = np.union1d(free[losers[free]], displaced)
    match = np.full(n, -1, dtype=np.int64)
    taken = np.flatnonzero(held[:m] >= 0)
    match[held[taken]] = taken
    return match
