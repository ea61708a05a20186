"""roc_auc: the suite catches the classic mistakes of ROC AUC code.

Each wrong implementation below makes one mistake (ties broken by the sort's order, ties
counted as wins or losses, a step area instead of the trapezoid, an average, a single class
answered instead of refused); verify must flag it on the case built for it, and where it
says so pass it on a case the mistake does not touch. Inputs are the suite's, from its
fixed seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation, load_registry
from harness.verify import Verdict, verify
from suites.roc_auc import SUITE, AucOptions, combine, curves, roc_auc

Impl = Callable[..., Any]
Curve = Callable[[np.ndarray, np.ndarray], float]


def _verdict(fn: Impl, case: str) -> Verdict:
    impl = Implementation(SUITE.algorithm, "numpy", "wrong", fn)
    return verify(SUITE, impl, SUITE.find_case(case))


def _bad(v: Verdict, *phrases: str) -> None:
    assert v.status in ("fail", "error"), (v.status, v.detail)
    for phrase in phrases:
        assert phrase in v.detail, v.detail


def _ok(fn: Impl, *cases: str) -> None:
    for case in cases:
        v = _verdict(fn, case)
        assert v.status == "pass", (case, v.detail)


def _pairs(tie: float) -> Curve:
    """All pairs: 1 when the positive is higher, ``tie`` when equal (right: ½)."""

    def curve(s: np.ndarray, y: np.ndarray) -> float:
        pos, neg = s[y == 1], np.sort(s[y == 0])
        below = np.searchsorted(neg, pos, side="left")  # negatives under each positive
        equal = np.searchsorted(neg, pos, side="right") - below
        return float((below + tie * equal).sum() / (pos.size * neg.size))

    return curve


def _by_sort_order(s: np.ndarray, y: np.ndarray) -> float:
    """The curve walked one score at a time in a stable sort's order: tied scores are
    stepped through in index order instead of crossed diagonally."""
    order = np.argsort(-s, kind="stable")
    tps = np.cumsum(y[order] == 1)
    fps = np.cumsum(y[order] == 0)
    tpr, fpr = np.r_[0, tps] / tps[-1], np.r_[0, fps] / fps[-1]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


RIGHT = _pairs(0.5)


def _impl(curve: Curve = RIGHT, work: Any = None, average: str | None = None) -> Impl:
    def impl(scores: Any, labels: Any, opts: AucOptions) -> Any:
        if average is not None:
            opts = replace(opts, average=average)
        s = scores.astype(work or scores.dtype)
        found = [(curve(a, b), int(b.sum())) for a, b in curves(s, labels, opts)]
        out = combine([a for a, _ in found], [p for _, p in found], opts, scores.ndim)
        return out.astype(scores.dtype)

    return impl


REGISTRY = load_registry()
PROJECT = [
    REGISTRY.implementations[f"roc_auc/{k}"]
    for k in ("numpy/keysort", "torch_cpu/sort", "library/sklearn")
]


def test_the_correct_variant_and_the_project_implementations_pass_the_cases_used_below() -> None:
    _ok(_impl(), "random", "levels_ties", "all_tied", "multilabel_weighted",
        "multilabel_samples", "many_levels", "near_ties_f64")  # fmt: skip
    for impl in PROJECT:
        for case in ("levels_ties", "all_tied", "multilabel_levels_none_f64", "near_ties_f64"):
            v = verify(SUITE, impl, SUITE.find_case(case))
            assert v.status == "pass", (impl.key, case, v.detail)


def test_ties_broken_by_the_sort_order_are_caught() -> None:
    bad = _impl(_by_sort_order)
    _ok(bad, "random", "random_f64")  # continuous scores: no ties, the same curve
    _bad(_verdict(bad, "levels_ties"), "finite values off")
    _bad(_verdict(bad, "all_tied"), "finite values off")  # not 0.5
    _bad(_verdict(bad, "multilabel_levels_none_f64"), "finite values off")


def test_ties_counted_as_wins_or_losses_are_caught() -> None:
    """The lower (ties lose) and upper (ties win) step areas, not the trapezoid."""
    for tie in (0.0, 1.0):
        _ok(_impl(_pairs(tie)), "random")
        _bad(_verdict(_impl(_pairs(tie)), "levels_ties"), "finite values off")
        _bad(_verdict(_impl(_pairs(tie)), "all_tied"), "finite values off")


def test_flipped_scores_are_caught() -> None:
    def flipped(s: np.ndarray, y: np.ndarray) -> float:
        return _pairs(0.5)(-s, y)

    _ok(_impl(flipped), "all_tied")  # 0.5 either way
    _bad(_verdict(_impl(flipped), "perfect"), "finite values off")
    _bad(_verdict(_impl(flipped), "random"), "finite values off")


def test_the_averages_are_told_apart() -> None:
    for wrong, cases in {
        "macro": ("multilabel_micro", "multilabel_weighted", "multilabel_samples"),
        "micro": ("multilabel_macro", "multilabel_weighted"),
        "weighted": ("multilabel_macro",),
        "samples": ("multilabel_macro",),
    }.items():
        _ok(_impl(average=wrong), "random")  # 1-D: one AUC whatever the average
        for case in cases:
            _bad(_verdict(_impl(average=wrong), case), "elements differ")
    _bad(_verdict(_impl(average="macro"), "multilabel_none"), "has shape (), expected (5,)")


def test_a_single_class_must_raise() -> None:
    def answers(scores: Any, labels: Any, opts: AucOptions) -> Any:
        """0.5 (or NaN) for a curve with one class instead of refusing it."""
        out = []
        for s, y in curves(scores, labels, opts):
            n_pos = int(y.sum())
            out.append((_pairs(0.5)(s, y) if 0 < n_pos < y.size else 0.5, n_pos))
        got = combine([a for a, _ in out], [p for _, p in out], opts, scores.ndim)
        return got.astype(scores.dtype)

    _ok(answers, "random", "multilabel_samples")
    for case in ("single_class", "single_class_column", "single_class_row_samples"):
        _bad(_verdict(answers, case), "must raise ValueError")


def test_a_blocked_implementation_wrong_only_past_its_first_block_is_caught() -> None:
    def block_mean(s: np.ndarray, y: np.ndarray) -> float:
        """The AUCs of blocks of 4,096 scores averaged: right for one block."""
        parts = [_pairs(0.5)(s[i : i + 4096], y[i : i + 4096]) for i in range(0, s.size, 4096)]
        return float(np.mean(parts))

    _ok(_impl(block_mean), "levels_ties", "random_f64")
    _bad(_verdict(_impl(block_mean), "many_levels"), "finite values off")


def test_float32_arithmetic_on_float64_inputs_is_caught() -> None:
    """Scores 1e-12 apart are distinct in float64 and tied in float32."""
    _ok(_impl(work=np.float32), "random_f64")  # no near ties there
    _bad(_verdict(_impl(work=np.float32), "near_ties_f64"), "finite values off")


def test_wrong_shapes_dtypes_and_input_writes_are_caught() -> None:
    def one_element(scores: Any, labels: Any, opts: AucOptions) -> Any:
        return np.atleast_1d(_impl()(scores, labels, opts))

    def float64_out(scores: Any, labels: Any, opts: AucOptions) -> Any:
        return roc_auc(scores, labels, opts)

    def sorts_in_place(scores: Any, labels: Any, opts: AucOptions) -> Any:
        out = _impl()(scores, labels, opts)
        scores.sort(axis=0)
        return out

    _bad(_verdict(one_element, "binary_average_none"), "has shape (1,), expected ()")
    _bad(_verdict(float64_out, "random"), "has dtype float64, expected float32")
    _bad(_verdict(sorts_in_place, "random"), "modified its input(s) ['scores']")


def test_the_oracle_is_sklearn_s_for_every_average_and_the_roc_trapezoid() -> None:
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(8)
    y = (rng.random((80, 4)) < 0.4).astype(np.int64)
    y[:, 0] = 1 - y[:, 1]  # both classes in every row (average='samples')
    s = np.round(rng.random((80, 4)) * 6 + y, 0) / 7  # few levels: ties across classes
    for average in ("macro", "micro", "weighted", "samples", "none"):
        ours = roc_auc(s, y, AucOptions(average))
        theirs = sklearn_metrics.roc_auc_score(y, s, average=None if average == "none" else average)
        np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=0)
    for drop in (True, False):  # drop_intermediate changes the points, not the area
        fpr, tpr, _ = sklearn_metrics.roc_curve(y[:, 0], s[:, 0], drop_intermediate=drop)
        area = np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2)
        np.testing.assert_allclose(roc_auc(s[:, 0], y[:, 0], AucOptions()), area, rtol=1e-13)
