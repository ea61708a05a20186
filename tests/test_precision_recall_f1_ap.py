"""precision_recall_f1_ap: the suite catches the classic mistakes of P/R/F and AP code.

Each wrong implementation below makes one mistake (a trapezoid or interpolated AP, ties
walked one by one, > for >=, β ignored, an average or the zero_division rule); verify must
flag it on the case built for it, and where it says so pass it on a case the mistake does
not touch. Inputs are the suite's, from its fixed seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation, load_registry
from harness.verify import Verdict, verify
from suites.precision_recall_f1_ap import (
    SUITE,
    PrfOptions,
    combine,
    curves,
    precision_recall_f1_ap,
)

Impl = Callable[..., Any]
ApRule = Callable[[np.ndarray, np.ndarray], float]


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


def _points(s: np.ndarray, y: np.ndarray, grouped: bool = True) -> tuple[np.ndarray, ...]:
    """(recall, precision) at each threshold from the top: the tied groups' ends, or every
    element in a stable sort's order."""
    order = np.argsort(-s, kind="stable")
    tps = np.cumsum(y[order] == 1)
    idx = np.arange(s.size)
    if grouped:
        v = s[order]
        idx = np.append(np.flatnonzero(v[1:] != v[:-1]), s.size - 1)
    return tps[idx] / max(int(y.sum()), 1), tps[idx] / (idx + 1.0)


def step_ap(s: np.ndarray, y: np.ndarray) -> float:
    if not y.sum():
        return 0.0
    r, p = _points(s, y)
    return float((np.diff(r, prepend=0) * p).sum())


def _impl(ap: ApRule = step_ap, work: Any = None, strict: bool = False,
          average: str | None = None, ignore_beta: bool = False) -> Impl:  # fmt: skip
    def impl(scores: Any, labels: Any, threshold: Any, beta: Any, opts: PrfOptions) -> Any:
        o = replace(opts, average=average) if average and scores.ndim == 2 else opts
        s = scores.astype(work or scores.dtype)
        t = s.dtype.type(threshold)
        rows = []
        for a, b in curves(s, labels, o):
            pred = a > t if strict else a >= t
            tp = int((pred & (b == 1)).sum())
            rows.append((tp, int(pred.sum()) - tp, int(b.sum()) - tp, ap(a, b)))
        out = combine(rows, 1.0 if ignore_beta else float(beta), o)
        return tuple(v.astype(scores.dtype) for v in out)

    return impl


REGISTRY = load_registry()
PROJECT = [
    REGISTRY.implementations[f"precision_recall_f1_ap/{k}"]
    for k in ("numpy/keysort", "torch_cpu/sort", "library/sklearn")
]


def test_the_correct_variant_and_the_project_implementations_pass_the_cases_used_below() -> None:
    _ok(_impl(), "random", "levels_ties", "macro", "weighted", "samples", "many_levels",
        "near_threshold_f64", "no_positives_one")  # fmt: skip
    for impl in PROJECT:
        for case in ("levels_ties", "samples_sparse_nan", "column_without_positives_macro_one",
                     "no_positives_weighted_one", "near_threshold_f64"):  # fmt: skip
            v = verify(SUITE, impl, SUITE.find_case(case))
            assert v.status == "pass", (impl.key, case, v.detail)


def test_a_trapezoid_ap_is_caught() -> None:
    def trapezoid(s: np.ndarray, y: np.ndarray) -> float:
        if not y.sum():
            return 0.0
        r, p = _points(s, y)
        r, p = np.r_[0, r], np.r_[1, p]
        return float((np.diff(r) * (p[1:] + p[:-1]) / 2).sum())

    _bad(_verdict(_impl(trapezoid), "random"), "output 'ap'")
    _bad(_verdict(_impl(trapezoid), "levels_ties"), "output 'ap'")


def test_an_interpolated_ap_is_caught() -> None:
    """VOC's all-point AP: precision replaced by its envelope max over higher recalls."""

    def envelope(s: np.ndarray, y: np.ndarray) -> float:
        if not y.sum():
            return 0.0
        r, p = _points(s, y)
        p = np.maximum.accumulate(p[::-1])[::-1]
        return float((np.diff(r, prepend=0) * p).sum())

    _ok(_impl(envelope), "perfect", "all_tied")  # one step or a monotone curve
    _bad(_verdict(_impl(envelope), "random"), "output 'ap'")


def _voc_devkit_ap(rec: np.ndarray, prec: np.ndarray, eleven: bool) -> float:
    """The VOC devkit's AP, as its Python port writes it (loops, sentinels)."""
    if eleven:
        total = 0.0
        for t in np.arange(0.0, 1.1, 0.1):
            total += float(np.max(prec[rec >= t])) if np.sum(rec >= t) else 0.0
        return total / 11.0
    mrec, mpre = np.concatenate(([0.0], rec, [1.0])), np.concatenate(([0.0], prec, [0.0]))
    for i in range(mpre.size - 1, 0, -1):
        mpre[i - 1] = max(mpre[i - 1], mpre[i])
    steps = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))


def _coco_ap(rec: np.ndarray, prec: np.ndarray) -> float:
    """COCOeval.accumulate's 101-point AP of one ranked list."""
    pr = prec.tolist()
    for i in range(len(pr) - 1, 0, -1):
        pr[i - 1] = max(pr[i - 1], pr[i])
    grid = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1)
    q = np.zeros(grid.size)
    for ri, pi in enumerate(np.searchsorted(rec, grid, side="left")):
        if pi < len(pr):
            q[ri] = pr[pi]
    return float(q.mean())


@pytest.mark.parametrize("seed", [3, 4])
def test_the_interpolated_aps_are_the_devkits_on_distinct_scores(seed: int) -> None:
    """Without ties (where grouping changes nothing) each interpolated AP is the devkit's
    own code on the ranked list; 40 positives in 100 put recalls exactly on grid points."""
    rng = np.random.default_rng(seed)
    y = np.zeros(100, np.int64)
    y[rng.permutation(100)[:40]] = 1
    s = rng.random(100) + 0.3 * y  # distinct scores (continuous draws)
    order = np.argsort(-s, kind="stable")
    tps = np.cumsum(y[order])
    rec, prec = tps / 40.0, tps / np.arange(1.0, 101.0)
    expected = {
        "all_point": _voc_devkit_ap(rec, prec, False),
        "voc11": _voc_devkit_ap(rec, prec, True),
        "coco101": _coco_ap(rec, prec),
    }
    for interp, want in expected.items():
        ap = precision_recall_f1_ap(s, y, 0.5, 1.0, PrfOptions(ap_interp=interp))[3]
        assert abs(float(ap) - want) <= 1e-14, (interp, float(ap), want)


def test_interpolated_ap_without_the_envelope_or_on_the_wrong_grid_is_caught() -> None:
    """The 11-point mean of the precision at the first recall >= r (not the max above
    it), and the 11-point grid where COCO's 101 points are asked."""

    def at_first_recall(grid: np.ndarray) -> ApRule:
        def ap(s: np.ndarray, y: np.ndarray) -> float:
            if not y.sum():
                return 0.0
            r, p = _points(s, y)
            at = np.searchsorted(r, grid, side="left")
            return float(np.where(at < p.size, p[np.minimum(at, p.size - 1)], 0.0).mean())

        return ap

    def enveloped(grid: np.ndarray) -> ApRule:
        def ap(s: np.ndarray, y: np.ndarray) -> float:
            if not y.sum():
                return 0.0
            r, p = _points(s, y)
            p = np.maximum.accumulate(p[::-1])[::-1]
            at = np.searchsorted(r, grid, side="left")
            return float(np.where(at < p.size, p[np.minimum(at, p.size - 1)], 0.0).mean())

        return ap

    eleven, hundred_one = np.arange(0.0, 1.1, 0.1), np.linspace(0.0, 1.0, 101)
    _ok(_impl(enveloped(eleven)), "voc11_levels", "voc11_f64", "perfect_voc11")
    _ok(_impl(enveloped(hundred_one)), "coco101", "coco101_levels_f64", "all_tied_coco101")
    _bad(_verdict(_impl(at_first_recall(eleven)), "voc11_f64"), "output 'ap'")
    _bad(_verdict(_impl(enveloped(eleven)), "coco101_levels_f64"), "output 'ap'")


def test_ties_walked_one_by_one_are_caught() -> None:
    """Detection-style evaluators step through tied scores in index order."""

    def one_by_one(s: np.ndarray, y: np.ndarray) -> float:
        if not y.sum():
            return 0.0
        r, p = _points(s, y, grouped=False)
        return float((np.diff(r, prepend=0) * p).sum())

    _ok(_impl(one_by_one), "random", "random_f64")  # continuous scores: no ties
    _bad(_verdict(_impl(one_by_one), "levels_ties"), "output 'ap'")
    _bad(_verdict(_impl(one_by_one), "all_tied"), "output 'ap'")
    # ... which is the ties='sequential' convention, where grouping the ties is the mistake
    _ok(_impl(one_by_one), "sequential_levels", "all_tied_sequential")
    _bad(_verdict(_impl(), "sequential_levels"), "output 'ap'")
    _bad(_verdict(_impl(), "all_tied_sequential"), "output 'ap'")


def test_greater_than_for_at_least_is_caught() -> None:
    _ok(_impl(strict=True), "random")  # no score equals 0.5 there
    _bad(_verdict(_impl(strict=True), "levels_ties"), "output 'precision'")


def test_beta_ignored_is_caught() -> None:
    _ok(_impl(ignore_beta=True), "random")  # β = 1
    _bad(_verdict(_impl(ignore_beta=True), "beta_2"), "output 'fbeta'")
    _bad(_verdict(_impl(ignore_beta=True), "beta_half_levels"), "output 'fbeta'")


def test_the_averages_are_told_apart() -> None:
    for wrong, cases in {
        "macro": ("micro", "weighted", "samples"),
        "micro": ("macro", "weighted"),
        "weighted": ("macro",),
    }.items():
        for case in cases:
            _bad(_verdict(_impl(average=wrong), case), "elements differ")
    _bad(_verdict(_impl(average="macro"), "none"), "has shape (), expected (5,)")


def test_f_from_the_averaged_precision_and_recall_is_caught() -> None:
    """Macro F is the mean of the labels' F, not the harmonic mean of macro P and R."""

    def f_of_means(scores: Any, labels: Any, threshold: Any, beta: Any, opts: PrfOptions) -> Any:
        p, r, _, ap = _impl()(scores, labels, threshold, beta, opts)
        b2 = float(beta) ** 2
        f = (1 + b2) * p * r / (b2 * p + r) if b2 * p + r > 0 else p * 0
        return p, r, np.asarray(f, scores.dtype), ap

    _ok(f_of_means, "random", "micro")  # one curve: the same
    _bad(_verdict(f_of_means, "macro"), "output 'fbeta'")


def test_the_zero_division_rule_is_enforced() -> None:
    def always_zero(scores: Any, labels: Any, threshold: Any, beta: Any, opts: PrfOptions) -> Any:
        return _impl()(scores, labels, threshold, beta, replace(opts, zero_division="zero"))

    def nan_kept_in_means(scores: Any, labels: Any, threshold: Any, beta: Any,
                          opts: PrfOptions) -> Any:  # fmt: skip
        if opts.zero_division != "nan" or opts.average in ("binary", "micro", "none"):
            return _impl()(scores, labels, threshold, beta, opts)
        per = _impl()(scores, labels, threshold, beta, replace(opts, average="none"))
        return tuple(np.asarray(np.mean(v), scores.dtype) for v in per)  # NaN poisons

    _ok(always_zero, "random", "no_positives")
    _bad(_verdict(always_zero, "no_positives_one"), "output 'recall'")
    _bad(_verdict(always_zero, "nothing_predicted"), "output 'precision'")
    _bad(_verdict(always_zero, "no_positives_nan"), "numbers where the oracle has NaN")
    _bad(_verdict(nan_kept_in_means, "samples_sparse_nan"), "NaN where the oracle has a number")


def test_a_blocked_ap_wrong_only_past_its_first_block_is_caught() -> None:
    def block_mean(s: np.ndarray, y: np.ndarray) -> float:
        """The APs of blocks of 4,096 scores averaged: right for one block."""
        return float(np.mean([step_ap(s[i : i + 4096], y[i : i + 4096])
                              for i in range(0, s.size, 4096)]))  # fmt: skip

    _ok(_impl(block_mean), "levels_ties", "random_f64")
    _bad(_verdict(_impl(block_mean), "many_levels"), "output 'ap'")


def test_float32_arithmetic_on_float64_inputs_is_caught() -> None:
    """Scores 1e-12 from the threshold fall onto it in float32."""
    _ok(_impl(work=np.float32), "random_f64")
    _bad(_verdict(_impl(work=np.float32), "near_threshold_f64"), "elements differ")


def test_wrong_shapes_dtypes_and_input_writes_are_caught() -> None:
    def float64_out(scores: Any, labels: Any, threshold: Any, beta: Any, opts: PrfOptions) -> Any:
        return precision_recall_f1_ap(scores, labels, threshold, beta, opts)

    def sorts_in_place(scores: Any, labels: Any, threshold: Any, beta: Any,
                       opts: PrfOptions) -> Any:  # fmt: skip
        out = _impl()(scores, labels, threshold, beta, opts)
        scores.sort(axis=0)
        return out

    _bad(_verdict(float64_out, "random"), "has dtype float64, expected float32")
    _bad(_verdict(sorts_in_place, "random"), "modified its input(s) ['scores']")


@pytest.mark.filterwarnings("ignore::UserWarning")  # sklearn: no positives in a label
def test_the_oracle_is_sklearn_s_for_every_average_and_zero_division() -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(8)
    y = (rng.random((50, 4)) < 0.3).astype(np.int64)
    y[:, 3] = 0  # a label without positives
    s = np.round(rng.random((50, 4)) * 5 + 2 * y) / 7  # few levels: ties across classes
    for average in ("micro", "macro", "weighted", "samples", "none"):
        sk_average = None if average == "none" else average
        for zero, value in (("zero", 0.0), ("one", 1.0), ("nan", np.nan)):
            ours = precision_recall_f1_ap(s, y, 0.5, 2.0, PrfOptions(average, zero))
            p, r, f, _ = metrics.precision_recall_fscore_support(
                y, (s >= 0.5).astype(int), beta=2.0, average=sk_average, zero_division=value
            )
            ap = metrics.average_precision_score(y, s, average=sk_average)
            for mine, theirs in zip(ours, (p, r, f, ap), strict=True):
                np.testing.assert_allclose(mine, theirs, rtol=1e-13, atol=0)
