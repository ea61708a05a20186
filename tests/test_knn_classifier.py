"""knn_classifier: the suite catches the classic mistakes of a k-NN classifier.

Every wrong variant is a small NumPy classifier with one deliberate mistake, run through
``harness.verify.verify`` on one of the suite's own cases; the correct one passes them all.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from harness.cases import Case
from harness.registry import Implementation
from harness.verify import Verdict, case_inputs, oracle_output, verify
from suites.knn_classifier import ARGS, SUITE, KnnOptions, check_inputs


def classify(
    x: Any,
    y: Any,
    q: Any,
    k: int,
    opts: KnnOptions,
    *,
    compute: Any = np.float64,
    vote_ties: str = "smallest",  # "largest": the last maximum
    positions: bool = False,  # return the class position, not the label value
    power: int = 1,  # distance weights 1/d**power
    ignore_weights: bool = False,
    block: int = 0,  # > 0: only the first `block` training points are searched
    check_k: bool = True,
    empty_shape: bool = False,  # (0, 1) when Q = 0
) -> Any:
    """A straightforward classifier; each keyword argument switches one mistake on."""
    (check_inputs if check_k else ARGS.check)(x, y, q, k)
    labels, cls = np.unique(y, return_inverse=True)
    xs, qs = x.astype(compute), q.astype(compute)
    if block:
        xs, cls = xs[:block], cls[:block]
    out = np.empty(len(q), dtype=np.int64)
    for r, point in enumerate(qs):
        d2 = np.sum((xs - point) ** 2, axis=1).astype(np.float64)
        near = np.argsort(d2, kind="stable")[:k]
        d = np.sqrt(d2[near])
        if opts.weights == "uniform" or ignore_weights:
            w = np.ones(len(near))
        elif (d == 0).any():
            w = (d == 0) * 1.0
        else:
            w = 1.0 / d**power
        score = np.bincount(cls[near], weights=w, minlength=len(labels))
        best = np.flatnonzero(score == score.max())
        c = best[0] if vote_ties == "smallest" else best[-1]
        out[r] = c if positions else labels[c]
    if empty_shape and len(q) == 0:
        return out.reshape(0, 1)
    return out


def run(case_name: str, **mistake: Any) -> Verdict:
    def fn(x: Any, y: Any, q: Any, k: int, opts: KnnOptions) -> Any:
        return classify(x, y, q, k, opts, **mistake)

    impl = Implementation("knn_classifier", "numpy", "test_" + ("_".join(mistake) or "ok"), fn)
    return verify(SUITE, impl, SUITE.find_case(case_name))


def assert_flagged(verdict: Verdict, *words: str) -> None:
    assert verdict.status in ("fail", "error"), verdict
    for word in words:
        assert word in verdict.detail, verdict.detail


@pytest.mark.parametrize("name", [c.name for c in SUITE.cases] + [e.name for e in SUITE.errors])
def test_the_straightforward_classifier_passes_every_case(name: str) -> None:
    verdict = run(name)
    assert verdict.status == "pass", verdict.detail


def test_vote_ties_to_the_largest_label_are_caught() -> None:
    assert_flagged(run("duplicate_points_distance", vote_ties="largest"), "predictions differ")


def test_class_positions_instead_of_label_values_are_caught() -> None:
    assert_flagged(run("label_values", positions=True), "predictions differ")


def test_uniform_votes_where_distance_weights_are_asked_are_caught() -> None:
    assert_flagged(run("distance_f32", ignore_weights=True), "predictions differ")


def test_inverse_squared_distance_weights_are_caught() -> None:
    assert_flagged(run("distance_f64", power=2), "predictions differ")


def test_float32_distances_for_float64_points_are_caught() -> None:
    assert_flagged(run("near_k1_f64", compute=np.float32), "clear of a tie")


def test_a_search_blind_past_its_first_block_is_caught() -> None:
    assert_flagged(run("multi_block", block=256), "predictions differ")


def test_k_above_n_must_raise() -> None:
    assert_flagged(run("k_above_n", check_k=False), "must raise ValueError")


def test_a_wrong_shape_on_no_queries_is_caught() -> None:
    assert_flagged(run("no_queries", empty_shape=True), "shape")


def test_the_comparator_excuses_a_query_at_a_tie_of_the_kth_distance_only() -> None:
    """Three training points: two at distance 1 with labels 0 and 1, one at 3 (label 1);
    k = 1: either of the two tied points is a right neighbour, so 0 and 1 both pass; with
    k = 2 the boundary is clear, the votes tie 1:1 and only the smaller label passes."""
    x = np.array([[1.0, 0.0], [-1.0, 0.0], [3.0, 0.0]])
    inputs = {"x": x, "y": np.array([0, 1, 1]), "q": np.zeros((1, 2)), "k": 1}
    case = Case("tie", {"dtype": "float64", "d": 2}, {}, "custom")
    tol = SUITE.compare.tolerance(case)
    assert SUITE.compare(np.array([1]), np.array([0]), inputs, case, tol).passed
    clear = {**inputs, "k": 2}
    result = SUITE.compare(np.array([1]), np.array([0]), clear, case, tol)
    assert not result.passed and "query 0" in result.detail


def test_duplicate_queries_tie_their_votes() -> None:
    case = SUITE.find_case("duplicate_points_distance")
    assert isinstance(case, Case)
    inputs = case_inputs(SUITE, case)
    want = oracle_output(SUITE, case)
    largest = classify(**inputs, opts=KnnOptions(weights="distance"), vote_ties="largest")
    assert np.sum(largest != want) >= 5  # many queries sit on a tied pair of copies
