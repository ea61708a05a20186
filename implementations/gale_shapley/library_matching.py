"""matching.games.StableMarriage (the `matching` package) solved suitor-optimal: players are
named by their indices; complete lists only (StableMarriage needs every player to rank the
whole other side). The game deep-copies its linked players, which recurses about once per
player, so the adapter lifts Python's recursion limit for the call (restored after it)."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from harness import implementation
from suites.gale_shapley import GaleShapleyOptions, check_inputs


@implementation(
    "gale_shapley",
    "library",
    "matching",
    arrays="numpy",
    requires=("matching",),
    supports={"lists": ("complete",)},
)
def gale_shapley(proposer_prefs: Any, receiver_prefs: Any, opts: GaleShapleyOptions) -> Any:
    """StableMarriage.create_from_dictionaries(...).solve(optimal='suitor')."""
    from matching.games import StableMarriage  # a submodule the package does not import

    check_inputs(proposer_prefs, receiver_prefs, opts)
    suitors = {i: row.tolist() for i, row in enumerate(proposer_prefs)}
    reviewers = {j: row.tolist() for j, row in enumerate(receiver_prefs)}
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20 * len(proposer_prefs) + 2000))
    try:
        game = StableMarriage.create_from_dictionaries(suitors, reviewers)
        solved = game.solve(optimal="suitor")
    finally:
        sys.setrecursionlimit(limit)
    match = np.full(len(proposer_prefs), -1, dtype=np.int64)
    for suitor, reviewer in solved.items():
        match[suitor.name] = reviewer.name
    return match
