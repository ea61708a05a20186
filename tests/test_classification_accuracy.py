"""classification_accuracy: the suite catches the classic mistakes of accuracy code.

Each wrong implementation below makes one mistake (the tie order swapped, a reversed
ascending sort for a descending one, >= for > at the 0.5 threshold, subset and Hamming
confused, a percentage, a float32 count, a softmax before the argmax, a block cut short,
float32 arithmetic, labels not validated, k > C refused); verify must flag it on the case
built for it, and where it says so pass it on a case the mistake does not touch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation, load_registry
from harness.verify import Verdict, verify
from suites.classification_accuracy import (
    ARGS,
    SUITE,
    AccuracyOptions,
    check,
    classification_accuracy,
)

Impl = Callable[..., Any]
Order = Callable[[np.ndarray, str], np.ndarray]  # (scores, tie_break) -> classes, best first


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


def _order(s: np.ndarray, tie_break: str) -> np.ndarray:
    """Right: a stable sort of -s (lower index first among equals), or of the reversed
    classes for the higher-index order."""
    if tie_break == "lower_index":
        return np.argsort(-s, axis=1, kind="stable")
    return s.shape[1] - 1 - np.argsort(-s[:, ::-1], axis=1, kind="stable")  # type: ignore[no-any-return]


def _impl(order: Order = _order, work: Any = None, ge: Callable[..., Any] | None = None,
          task: Callable[[str], str] = lambda t: t, scale: float = 1.0, out: Any = np.float64,
          rows: int = 1 << 62, validate: Callable[..., Any] = check) -> Impl:  # fmt: skip
    """An implementation from a ranking rule, in the inputs' dtype (or ``work``); ``rows``:
    the rows a kernel that drops its last partial block reaches."""

    def impl(scores: Any, target: Any, k: Any, opts: Any) -> Any:
        validate(scores, target, k, opts)
        s, t = scores.astype(work or scores.dtype)[:rows], target[:rows]
        n = len(scores)
        kind = task(opts.task)
        if kind == "top_k":
            hits = (order(s, opts.tie_break)[:, :k] == t[:, None]).any(axis=1)
            return np.asarray(scale * hits.sum() / n, out)
        pred = (ge or (lambda x: x >= 0.5 if opts.threshold == "ge" else x > 0.5))(s)
        right = pred == (t == 1)
        value = right.mean() if kind == "hamming" else right.all(axis=1).sum() / n
        return np.asarray(scale * value, out)

    return impl


REGISTRY = load_registry()
PROJECT = [
    REGISTRY.implementations[f"classification_accuracy/{k}"]
    for k in ("numpy/blocked", "library/sklearn", "python/loops")
]


def test_the_correct_variant_and_the_project_implementations_pass_the_cases_used_below() -> None:
    _ok(_impl(), "top1", "top5_f64", "ties_top1", "ties_top3", "ties_top1_higher",
        "half_subset", "half_hamming_ge", "subset", "multi_block", "near_tie_top1_f64",
        "near_half_hamming_f64", "inf_scores", "k_above_c")  # fmt: skip
    for impl in PROJECT:
        for case in ("ties_top3", "ties_top3_higher_f64", "half_subset_ge", "k_equals_c"):
            v = verify(SUITE, impl, SUITE.find_case(case))
            assert v.status == "pass", (impl.key, case, v.detail)


def test_the_tie_order_is_enforced() -> None:
    def swapped(s: np.ndarray, tie_break: str) -> np.ndarray:
        return _order(s, "higher_index" if tie_break == "lower_index" else "lower_index")

    def reversed_ascending(s: np.ndarray, tie_break: str) -> np.ndarray:
        """argsort(s)[:, ::-1]: descending, but equal scores come out higher index first."""
        return np.argsort(s, axis=1, kind="stable")[:, ::-1]

    for wrong in (swapped, reversed_ascending):
        _ok(_impl(wrong), "top1", "top5")  # no ties
        _bad(_verdict(_impl(wrong), "ties_top1"), "finite values off")
        _bad(_verdict(_impl(wrong), "ties_top3"), "finite values off")
    _bad(_verdict(_impl(swapped), "ties_top1_higher"), "finite values off")


def test_the_threshold_rule_is_enforced() -> None:
    always_ge = _impl(ge=lambda x: x >= 0.5)
    _ok(always_ge, "subset", "half_subset_ge")  # no exact 0.5 / the ge cases
    _bad(_verdict(always_ge, "half_subset"), "finite values off")
    _bad(_verdict(always_ge, "half_hamming"), "finite values off")


def test_subset_and_hamming_are_told_apart() -> None:
    confused = _impl(task=lambda t: {"subset": "hamming", "hamming": "subset"}.get(t, t))
    _ok(confused, "top1")
    _bad(_verdict(confused, "subset"), "finite values off")
    _bad(_verdict(confused, "hamming_f64"), "finite values off")


def test_a_percentage_or_a_float32_fraction_is_caught() -> None:
    _bad(_verdict(_impl(scale=100.0), "top1"), "finite values off")
    _bad(_verdict(_impl(out=np.float32), "top1"), "has dtype float32, expected float64")


def test_a_softmax_before_the_argmax_is_caught_on_infinite_scores() -> None:
    """exp(s - max s) is NaN where max s = inf: the argmax then lands on the NaN."""

    def softmax_first(s: np.ndarray, tie_break: str) -> np.ndarray:
        with np.errstate(invalid="ignore", over="ignore"):
            e = np.exp(s - s.max(axis=1, keepdims=True))
            p = e / e.sum(axis=1, keepdims=True)
        return _order(p, tie_break)

    _ok(_impl(softmax_first), "top1", "top5_f64")
    _bad(_verdict(_impl(softmax_first), "inf_scores"), "finite values off")


def test_a_blocked_kernel_dropping_its_last_partial_block_is_caught() -> None:
    cut = _impl(rows=512)  # two blocks of 256 rows; a third partial block never runs
    _ok(cut, "top1", "top5")  # 40 rows
    _bad(_verdict(cut, "multi_block"), "finite values off")  # 600 rows
    _bad(_verdict(cut, "multi_block_hamming"), "finite values off")


def test_float32_arithmetic_on_float64_inputs_is_caught() -> None:
    _ok(_impl(work=np.float32), "top1_f64")  # far from ties: the same ranks
    _bad(_verdict(_impl(work=np.float32), "near_tie_top1_f64"), "finite values off")
    _bad(_verdict(_impl(work=np.float32), "near_half_hamming_f64"), "finite values off")


def test_labels_out_of_range_and_k_above_c_are_handled() -> None:
    lax = _impl(validate=lambda s, t, k, o: ARGS.check(s, t, k))
    _ok(lax, "top1")
    _bad(_verdict(lax, "label_equals_c"), "must raise ValueError")
    _bad(_verdict(lax, "indicator_not_0_1"), "must raise ValueError")

    def refuses_k_above_c(scores: Any, target: Any, k: Any, opts: Any) -> Any:
        if k > scores.shape[1]:
            raise RuntimeError("selected index k out of range")  # torch.topk's complaint
        return _impl()(scores, target, k, opts)

    _ok(refuses_k_above_c, "k_equals_c")
    _bad(_verdict(refuses_k_above_c, "k_above_c"), "raised RuntimeError")


def test_the_oracle_agrees_with_sklearn_and_a_sort_on_tie_free_scores() -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(4)
    s, y = rng.standard_normal((200, 10)), rng.integers(0, 10, 200)
    for k in (1, 3):
        ours = float(classification_accuracy(s, y, k, AccuracyOptions()))
        assert ours == metrics.top_k_accuracy_score(y, s, k=k, labels=np.arange(10))
        top = np.argsort(-s, axis=1)[:, :k]
        assert ours == float((top == y[:, None]).any(axis=1).mean())
    p, t = rng.uniform(size=(50, 6)), rng.integers(0, 2, (50, 6))
    pred = (p > 0.5).astype(int)
    subset = classification_accuracy(p, t, 1, AccuracyOptions(task="subset"))
    hamming = classification_accuracy(p, t, 1, AccuracyOptions(task="hamming"))
    assert float(subset) == metrics.accuracy_score(t, pred)
    assert float(hamming) == pytest.approx(1 - metrics.hamming_loss(t, pred), abs=1e-15)
