"""gale_shapley: the suite catches the classic mistakes of deferred acceptance, and the
oracle is the proposer-optimal stable matching (brute force over all matchings, N <= 6).

Every wrong variant is a small deferred-acceptance loop with one deliberate mistake, run
through ``harness.verify.verify`` on one of the suite's own cases.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from harness.cases import Case
from harness.registry import Implementation
from harness.verify import Verdict, verify
from suites.gale_shapley import (
    ARGS,
    SUITE,
    GaleShapleyOptions,
    blocking_pair,
    check_inputs,
    gale_shapley,
    make_inputs,
)


def deferred_acceptance(
    proposer_prefs: Any,
    receiver_prefs: Any,
    opts: GaleShapleyOptions,
    *,
    swap_roles: bool = False,  # receivers propose: the receiver-optimal matching
    list_as_rank: bool = False,  # read receiver_prefs[j][i] as j's rank of i
    reversed_lists: bool = False,  # proposers start from the bottom of their lists
    first_come: bool = False,  # a receiver never trades up
    ignore_lists: bool = False,  # receivers accept proposers they do not list
    block: int = 0,  # > 0: only the first `block` proposers propose
    validate: bool = True,
    empty_shape: bool = False,  # (0, 1) when N = 0
) -> Any:
    """A straightforward deferred acceptance; each keyword switches one mistake on."""
    (check_inputs if validate else lambda p, r, o: ARGS.check(p, r))(
        proposer_prefs, receiver_prefs, opts
    )
    n, m = len(proposer_prefs), len(receiver_prefs)
    p = np.asarray(proposer_prefs).reshape(n, m)
    r = np.asarray(receiver_prefs).reshape(m, n)
    if swap_roles:
        back = deferred_acceptance(r, p, opts)
        match = np.full(n, -1, dtype=np.int64)
        match[back[back >= 0]] = np.flatnonzero(back >= 0)
        return match
    if reversed_lists:
        p = p[:, ::-1]
    rank = np.full((m, n), n, dtype=np.int64)
    for j in range(m):
        listed = r[j][r[j] >= 0]
        if list_as_rank:
            rank[j, : len(listed)] = listed
        else:
            rank[j, listed] = np.arange(len(listed))
    held = np.full(m, -1, dtype=np.int64)
    nxt = np.zeros(n, dtype=np.int64)
    free = list(range((block or n) - 1, -1, -1)) if n else []
    while free:
        i = free.pop()
        while nxt[i] < m and p[i, nxt[i]] >= 0:
            j = int(p[i, nxt[i]])
            nxt[i] += 1
            if rank[j, i] == n and not ignore_lists:
                continue
            if held[j] < 0:
                held[j] = i
                break
            if not first_come and rank[j, i] < rank[j, held[j]]:
                free.append(int(held[j]))
                held[j] = i
                break
    match = np.full(n, -1, dtype=np.int64)
    match[held[held >= 0]] = np.flatnonzero(held >= 0)
    return match.reshape(0, 1) if empty_shape and n == 0 else match


def run(case_name: str, **mistake: Any) -> Verdict:
    def fn(proposer_prefs: Any, receiver_prefs: Any, opts: GaleShapleyOptions) -> Any:
        return deferred_acceptance(proposer_prefs, receiver_prefs, opts, **mistake)

    impl = Implementation("gale_shapley", "numpy", "test_" + ("_".join(mistake) or "ok"), fn)
    return verify(SUITE, impl, SUITE.find_case(case_name))


def assert_flagged(verdict: Verdict, *words: str) -> None:
    assert verdict.status in ("fail", "error"), verdict
    for word in words:
        assert word in verdict.detail, verdict.detail


@pytest.mark.parametrize("name", [c.name for c in SUITE.cases] + [e.name for e in SUITE.errors])
def test_the_straightforward_loop_passes_every_case(name: str) -> None:
    verdict = run(name)
    assert verdict.status == "pass", verdict.detail


def test_the_receiver_optimal_matching_is_caught() -> None:
    assert_flagged(run("random", swap_roles=True), "stable but not proposer-optimal")


def test_a_preference_list_read_as_a_rank_table_is_caught() -> None:
    assert_flagged(run("random", list_as_rank=True), "unstable")


def test_proposing_from_the_bottom_of_the_list_is_caught() -> None:
    assert_flagged(run("random", reversed_lists=True), "unstable")


def test_a_receiver_that_never_trades_up_is_caught() -> None:
    assert_flagged(run("correlated", first_come=True), "unstable")


def test_accepting_an_unlisted_proposer_is_caught() -> None:
    assert_flagged(run("incomplete_random", ignore_lists=True), "do not list each other")


def test_a_loop_blind_past_its_first_block_is_caught() -> None:
    assert_flagged(run("multi_block", block=256), "proposers differ")


def test_lists_that_are_not_permutations_must_raise() -> None:
    assert_flagged(run("not_a_permutation", validate=False), "must raise ValueError")


def test_a_wrong_shape_on_no_proposers_is_caught() -> None:
    assert_flagged(run("no_proposers", empty_shape=True), "shape")


# ---- the oracle against brute force --------------------------------------------------------------


def _stable_matchings(props: np.ndarray, recvs: np.ndarray) -> list[np.ndarray]:
    n = len(props)
    out = []
    for perm in itertools.permutations(range(n)):
        match = np.array(perm, dtype=np.int64)
        if blocking_pair(match, props, recvs) is None:
            out.append(match)
    return out


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("pattern", ["random", "correlated"])
def test_the_oracle_is_the_proposer_optimal_stable_matching(seed: int, pattern: str) -> None:
    case = Case("brute", {"n": 6, "seed": seed, "pattern": pattern}, {}, "custom")
    inputs = make_inputs(case)
    props, recvs = inputs["proposer_prefs"], inputs["receiver_prefs"]
    match = gale_shapley(props, recvs, GaleShapleyOptions())
    stable = _stable_matchings(props, recvs)
    assert any(np.array_equal(match, s) for s in stable)
    position = {(i, int(j)): k for i, row in enumerate(props) for k, j in enumerate(row)}
    for s in stable:  # no stable matching gives any proposer a better partner
        for i in range(len(match)):
            assert position[(i, int(match[i]))] <= position[(i, int(s[i]))]


def test_identical_lists_take_n_n_plus_1_over_2_proposals() -> None:
    case = SUITE.find_case("identical_lists")
    assert isinstance(case, Case)
    inputs = make_inputs(case)
    match = gale_shapley(inputs["proposer_prefs"], inputs["receiver_prefs"], GaleShapleyOptions())
    cost = SUITE.cost(case, match)
    n = int(case.params["n"])
    assert cost.items == n * (n + 1) // 2
