"""Tests of harness.comparators.selection: GreedySelection accepts valid NMS traces only."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.comparators import Comparator, Comparison
from harness.comparators.selection import GreedySelection, paired_iou
from harness.spec import Case, Tolerance


def suppress_if(c: Case) -> str:
    """The rule as a suite reads it from the case's options (default "gt")."""
    return str(c.options.get("suppress_if", "gt"))


COMPARE = GreedySelection(rule=suppress_if)


def case(dtype: str = "float64", rule: str = "gt") -> Case:
    return Case("t", {"dtype": dtype}, {} if rule == "gt" else {"suppress_if": rule})


def greedy(
    boxes: np.ndarray,
    scores: np.ndarray,
    t: float,
    rule: str = "gt",
    order: np.ndarray | None = None,
) -> np.ndarray:
    """Reference greedy NMS in float64 visiting boxes in ``order`` (default: the oracle's)."""
    if order is None:
        order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    for i in order:
        iou = paired_iou(boxes[[i] * len(keep)], boxes[keep]) if keep else np.zeros(0)
        if not np.any(iou > t if rule == "gt" else iou >= t):
            keep.append(int(i))
    return np.array(keep, dtype=np.int64)


def check(
    actual: Any,
    boxes: Any,
    scores: Any,
    t: float,
    dtype: str = "float64",
    rule: str = "gt",
    comparator: GreedySelection = COMPARE,
) -> Comparison:
    b = np.asarray(boxes, dtype=dtype)
    s = np.asarray(scores, dtype=dtype)
    inputs = {"boxes": b, "scores": s, "iou_threshold": t}
    expected = greedy(b.astype(np.float64), s.astype(np.float64), t, rule)
    c = case(dtype, rule)
    return comparator(
        np.asarray(actual, dtype=np.int64), expected, inputs, c, comparator.tolerance(c)
    )


# IoU(0, 1) = 0.8, box 2 is far away; scores strictly decreasing
OVERLAPPING = [[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]]
# IoU exactly 1/3 between neighbours (unit shift of width-2 boxes), 0 between the ends
THIRDS = [[0, 0, 2, 1], [1, 0, 3, 1], [2, 0, 4, 1]]


def test_exact_match_passes_without_a_note() -> None:
    result = check([0, 2], OVERLAPPING, [0.9, 0.8, 0.7], 0.5)
    assert result.passed and result.note == "" and result.mismatches == 0
    assert result.total == 2 and result.error_ratio == 0.0


def test_metadata_tolerance_and_dtype() -> None:
    assert COMPARE.tolerance(case("float32")).rtol == 1e-5
    assert COMPARE.tolerance(case("float64")).rtol == 1e-12
    assert COMPARE.tolerance(case()).atol == 0.0
    assert "either way" in COMPARE.tolerance(case()).reason
    assert COMPARE.expected_dtype(case()) == "int64"
    assert GreedySelection.compares_shape is True
    fixed = Tolerance(0.0, 0.0, "exact")
    assert GreedySelection(override=lambda c: fixed).tolerance(case()) is fixed
    assert isinstance(COMPARE, Comparator)
    assert COMPARE.dtypes(case(), ["keep"]) == {"keep": "int64"}


def test_rule_comes_from_the_callable_not_from_the_case_options() -> None:
    # IoU(0, 1) = IoU(1, 2) = 1/3 exactly: at t = 1/3 "ge" drops box 1, "gt" keeps all three
    boxes, scores = np.asarray(THIRDS, float), np.array([0.9, 0.8, 0.7])
    inputs = {"boxes": boxes, "scores": scores, "iou_threshold": 1 / 3}
    exact = Tolerance(0.0, 0.0, "exact")
    keep_all, ge_trace = np.array([0, 1, 2]), np.array([0, 2])
    assert np.array_equal(greedy(boxes, scores, 1 / 3, "ge"), ge_trace)
    # the default comparator reads no option: "gt", although the case says suppress_if="ge"
    default = GreedySelection(override=lambda c: exact)
    assert default(keep_all, keep_all, inputs, case(rule="ge"), exact).passed
    assert not default(ge_trace, keep_all, inputs, case(rule="ge"), exact).passed
    always_ge = GreedySelection(rule=lambda c: "ge", override=lambda c: exact)
    assert always_ge(ge_trace, ge_trace, inputs, case(), exact).passed
    rejected = always_ge(keep_all, ge_trace, inputs, case(), exact)
    assert not rejected.passed and "suppress_if='ge'" in rejected.detail


def test_tie_permuted_answer_is_accepted_and_counted() -> None:
    # boxes 0 and 1 tie and overlap: the oracle keeps 0, keeping 1 is an equally valid trace
    result = check([1, 2], OVERLAPPING, [0.9, 0.9, 0.7], 0.5)
    assert result.passed, result.detail
    assert "accepted" in result.note and "1 among equal scores" in result.note
    assert result.mismatches == 2  # {0} vs {1}


def test_equal_scores_in_either_output_order_are_accepted() -> None:
    boxes = [[0, 0, 1, 1], [5, 5, 6, 6], [9, 9, 10, 10]]
    result = check([1, 0, 2], boxes, [0.5, 0.5, 0.1], 0.5)
    assert result.passed and "1 among equal scores" in result.note
    assert result.mismatches == 0


def test_iou_exactly_at_threshold_is_ambiguous_in_float32() -> None:
    # float32 IoU 1/3 rounds up past the float64 t = 1/3: dropping box 1 is legitimate
    result = check([0, 2], THIRDS, [0.9, 0.8, 0.7], 1 / 3, dtype="float32")
    assert result.passed, result.detail
    assert "1 with IoU within" in result.note
    assert 0.0 <= result.error_ratio <= 1.0


def test_ge_at_exact_threshold_may_keep_both_but_not_with_zero_margin() -> None:
    result = check([0, 1, 2], THIRDS, [0.9, 0.8, 0.7], 1 / 3, rule="ge")
    assert result.passed and "2 with IoU within" in result.note
    strict = GreedySelection(rule=suppress_if, override=lambda c: Tolerance(0.0, 0.0, "exact"))
    rejected = check([0, 1, 2], THIRDS, [0.9, 0.8, 0.7], 1 / 3, rule="ge", comparator=strict)
    assert not rejected.passed and "rule 3" in rejected.detail


def test_missing_box_is_rejected_with_its_index() -> None:
    result = check([0], OVERLAPPING, [0.9, 0.8, 0.7], 0.5)
    assert not result.passed
    assert "rule 4" in result.detail and "index 2" in result.detail
    assert "closest is kept index 0" in result.detail
    assert result.error_ratio == float("inf")


def test_extra_box_is_rejected_naming_both_boxes() -> None:
    result = check([0, 1, 2], OVERLAPPING, [0.9, 0.8, 0.7], 0.5)
    assert not result.passed
    assert "rule 3" in result.detail
    assert "kept index 0 (position 0)" in result.detail
    assert "kept index 1 (position 1)" in result.detail


def test_wrong_order_is_rejected() -> None:
    result = check([2, 0], OVERLAPPING, [0.9, 0.8, 0.7], 0.5)
    assert not result.passed
    assert "rule 2" in result.detail and "index 2" in result.detail
    assert result.worst_index == (1,)


@pytest.mark.parametrize(
    ("actual", "words"),
    [
        ([0, 0, 2], "appears again at position 1"),
        ([0, 3], "outside [0, 3)"),
        ([-1], "outside [0, 3)"),
    ],
)
def test_bad_indices_are_rejected(actual: list[int], words: str) -> None:
    result = check(actual, OVERLAPPING, [0.9, 0.8, 0.7], 0.5)
    assert not result.passed and "rule 1" in result.detail and words in result.detail


def test_non_vector_and_non_integer_outputs_are_rejected() -> None:
    c = case()
    inputs = {"boxes": np.asarray(OVERLAPPING, float), "scores": np.ones(3), "iou_threshold": 0.5}
    tol = COMPARE.tolerance(c)
    flat = np.array([0, 2])
    assert not COMPARE(flat[None, :], flat, inputs, c, tol).passed
    assert "integers" in COMPARE(np.array([0.5, 2.0]), flat, inputs, c, tol).detail
    assert COMPARE([0, 2], flat, inputs, c, tol).passed  # plain lists (python backend)


def test_threshold_zero_has_no_margin() -> None:
    disjoint = [[0, 0, 1, 1], [5, 5, 6, 6]]
    assert not check([0, 1], disjoint, [0.9, 0.8], 0.0, rule="ge").passed
    assert check([0], disjoint, [0.9, 0.8], 0.0, rule="ge").passed
    assert not check([0], disjoint, [0.9, 0.8], 0.0).passed


def test_nan_box_never_suppresses_nor_is_suppressed() -> None:
    boxes = [[0, 0, 10, 10], [np.nan, 0, 10, 10], [50, 50, 60, 60]]
    assert check([0, 1], boxes, [0.9, 0.8, 0.7], 0.0, rule="ge").passed  # the oracle's answer
    # at t = 0 with ge every finite pair suppresses (IoU >= 0), but NaN IoU never does
    result = check([0], boxes, [0.9, 0.8, 0.7], 0.0, rule="ge")
    assert not result.passed and "index 1" in result.detail


def test_empty_output_of_empty_input_passes() -> None:
    assert check([], np.zeros((0, 4)), np.zeros(0), 0.5).passed


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 40),
    st.integers(0, 2**31 - 1),
    st.sampled_from([0.0, 1 / 3, 0.5, 1.0]),
    st.sampled_from(["gt", "ge"]),
)
def test_every_score_consistent_visiting_order_is_accepted(
    n: int, seed: int, t: float, rule: str
) -> None:
    rng = np.random.default_rng(seed)
    xy = rng.integers(0, 12, size=(n, 2)).astype(float)
    boxes = np.concatenate([xy, xy + rng.integers(0, 5, size=(n, 2))], axis=1)
    scores = rng.integers(0, 3, size=n) / 3.0  # many ties
    perm = rng.permutation(n)
    order = perm[np.argsort(-scores[perm], kind="stable")]
    trace = greedy(boxes, scores, t, rule, order)
    assert check(trace, boxes, scores, t, rule=rule).passed
    if trace.size >= 2:  # dropping the last kept box is valid only if an IoU sits at t
        last = boxes[trace[-1:]].repeat(trace.size - 1, axis=0)
        at_t = t > 0 and np.any(np.abs(paired_iou(boxes[trace[:-1]], last) - t) <= 1e-12 * t)
        assert check(trace[:-1], boxes, scores, t, rule=rule).passed == at_t
