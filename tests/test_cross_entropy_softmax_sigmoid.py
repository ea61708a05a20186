"""cross_entropy_softmax_sigmoid: the suite catches the classic mistakes of cross-entropy code.

Each wrong implementation below makes one mistake people make (a reduction, a normalisation,
a numerically naive formula, a convention of another library); verify must flag it on the
case built for it, and where it says so pass it on a case the mistake does not touch. The
inputs are the suite's, from its fixed seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation, load_registry
from harness.verify import Verdict, verify
from suites.cross_entropy_softmax_sigmoid import (
    SUITE,
    CrossEntropyOptions,
    cross_entropy_softmax_sigmoid,
)

Impl = Callable[..., Any]


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


def _oracle_in_dtype(**changes: Any) -> Impl:
    """The oracle with some flags replaced, its answer in pred's dtype."""

    def impl(pred: Any, target: Any, weight: Any, pos_weight: Any, opts: Any) -> Any:
        out = cross_entropy_softmax_sigmoid(pred, target, weight, pos_weight,
                                            replace(opts, **changes))  # fmt: skip
        return np.asarray(out).astype(pred.dtype)

    return impl


def _reduce(loss: np.ndarray, opts: CrossEntropyOptions, denominator: float, dtype: Any) -> Any:
    if opts.reduction == "none":
        return loss.astype(dtype)
    total = loss.sum()
    with np.errstate(all="ignore"):
        return np.asarray(total if opts.reduction == "sum" else total / denominator, dtype)


def _index_losses(pred: Any, target: Any, weight: Any, log_probs: Callable[[np.ndarray], Any],
                  ignore: int | None = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(weighted losses, weights) of the index form from a log-probability rule."""
    x = pred.astype(np.float64)
    kept = target != ignore
    safe = np.where(kept, target, 0)
    with np.errstate(all="ignore"):
        logp = np.take_along_axis(log_probs(x), safe[:, None], axis=1)[:, 0]
    w = np.ones(x.shape[1]) if weight is None else weight.astype(np.float64)
    wt = np.where(kept, w[safe], 0.0)
    return np.where(kept, -wt * logp, 0.0), wt


def _lse_log_softmax(x: np.ndarray) -> np.ndarray:
    top = x.max(axis=1, keepdims=True)
    out: np.ndarray = x - top - np.log(np.exp(x - top).sum(axis=1, keepdims=True))
    return out


def _index_impl(log_probs: Callable[[np.ndarray], Any] = _lse_log_softmax,
                denominator: str = "weights", fixed_ignore: int | None = None) -> Impl:  # fmt: skip
    """A softmax index-target CE with a chosen log-probability rule and mean denominator."""

    def impl(pred: Any, target: Any, weight: Any, pos_weight: Any, opts: Any) -> Any:
        ignore = opts.ignore_index if fixed_ignore is None else fixed_ignore
        loss, wt = _index_losses(pred, target, weight, log_probs, ignore)
        den = {"weights": wt.sum(), "all": loss.size, "kept": (target != ignore).sum(),
               "safe": max(wt.sum(), 1.0)}[denominator]  # fmt: skip
        return _reduce(loss, opts, den, pred.dtype)

    return impl


REGISTRY = load_registry()
PROJECT = [
    REGISTRY.implementations[f"cross_entropy_softmax_sigmoid/{key}"]
    for key in ("numpy/blocked", "library/torch")  # all of them: the verify matrix
]


def test_the_correct_variants_and_the_project_implementations_pass_the_cases_used_below() -> None:
    cases = ("index_weighted", "index_sum", "index_ignore_class_1", "extreme_logits",
             "all_ignored_mean", "index_kdim", "wide_rows", "many_rows_f64")  # fmt: skip
    _ok(_index_impl(), *cases)
    _ok(_oracle_in_dtype(), "sigmoid", "sigmoid_none_pos_weight_f64", "exact_01_none")
    for impl in PROJECT:
        for case in ("index_weighted", "extreme_logits_sigmoid_none", "exact_01_none"):
            v = verify(SUITE, impl, SUITE.find_case(case))
            assert v.status == "pass", (impl.key, case, v.detail)


# ---- reductions and normalisations --------------------------------------------------------


def test_a_sum_where_torch_averages_and_a_mean_where_it_sums_are_caught() -> None:
    _bad(_verdict(_oracle_in_dtype(reduction="sum"), "index_weighted"), "finite values off")
    _bad(_verdict(_oracle_in_dtype(reduction="sum"), "sigmoid"), "finite values off")
    _bad(_verdict(_oracle_in_dtype(reduction="mean"), "index_sum"), "finite values off")


def test_a_weighted_mean_over_n_instead_of_the_summed_weights_is_caught() -> None:
    by_n = _index_impl(denominator="kept")  # Σ w[t]·l / (number of kept targets)
    _ok(by_n, "index_f64", "index_sum")  # unweighted, or no mean: the same number
    _bad(_verdict(by_n, "index_weighted"), "finite values off")
    _bad(_verdict(by_n, "index_weighted_f64"), "finite values off")


def test_ignored_targets_in_the_denominator_are_caught() -> None:
    over_all = _index_impl(denominator="all")  # mean over every sample, ignored ones too
    _bad(_verdict(over_all, "index_f64"), "finite values off")
    _bad(_verdict(over_all, "index_ignore_class_1"), "finite values off")


def test_all_ignored_must_give_torch_s_nan_not_a_safe_zero() -> None:
    safe = _index_impl(denominator="safe")  # max(Σw, 1): 0 instead of 0/0
    _ok(safe, "all_ignored_sum", "all_ignored_none", "index_weighted")
    _bad(_verdict(safe, "all_ignored_mean"), "numbers where the oracle has NaN")
    _bad(_verdict(safe, "all_zero_weights"), "numbers where the oracle has NaN")


def test_a_hard_coded_ignore_index_is_caught() -> None:
    minus_100 = _index_impl(fixed_ignore=-100)  # ignores the option: class 1 is counted
    _ok(minus_100, "index_weighted")
    _bad(_verdict(minus_100, "index_ignore_class_1"), "finite values off")


def test_bce_weighted_mean_over_the_summed_weights_is_caught() -> None:
    """torch's BCE divides by the element count even with weights (CE divides by Σ w[t])."""

    def bce_by_weights(pred: Any, target: Any, weight: Any, pos_weight: Any, opts: Any) -> Any:
        loss = cross_entropy_softmax_sigmoid(pred, target, weight, pos_weight,
                                             replace(opts, reduction="none"))  # fmt: skip
        w = np.broadcast_to(weight.reshape(1, -1), loss.shape)
        return _reduce(loss, opts, float(w.sum()), pred.dtype)

    _bad(_verdict(bce_by_weights, "sigmoid"), "finite values off")


def test_pos_weight_on_the_negative_term_is_caught() -> None:
    def swapped(pred: Any, target: Any, weight: Any, pos_weight: Any, opts: Any) -> Any:
        x, y = pred.astype(np.float64), target.astype(np.float64)
        pw = np.ones(x.shape[1]) if pos_weight is None else pos_weight.astype(np.float64)
        sp = np.log1p(np.exp(-np.abs(x)))
        loss = y * (np.maximum(-x, 0) + sp) + pw * (1 - y) * (np.maximum(x, 0) + sp)
        return _reduce(loss, opts, loss.size, pred.dtype)

    _ok(swapped, "sigmoid_f64")  # no pos_weight: right
    _bad(_verdict(swapped, "sigmoid_none_pos_weight_f64"), "finite values off")


# ---- numerical stability ----------------------------------------------------------------


def test_a_softmax_without_the_max_shift_overflows_at_logits_1e4() -> None:
    def naive(x: np.ndarray) -> Any:
        e = np.exp(x.astype(np.float32))  # the case's dtype: exp(1e4) = inf
        return np.log(e / e.sum(axis=1, keepdims=True))

    _ok(_index_impl(naive), "index_weighted")
    _bad(_verdict(_index_impl(naive), "extreme_logits"), "NaN where the oracle has a number")


def test_clipped_probabilities_where_torch_uses_log_sum_exp_are_caught() -> None:
    """softmax, clip to [1e-7, 1 - 1e-7], log (Keras's from_logits=False path): the loss
    caps at -log(1e-7) = 16.1 where log-sum-exp gives up to 2e4."""

    def clipped(x: np.ndarray) -> Any:
        return np.log(np.clip(np.exp(_lse_log_softmax(x)), 1e-7, 1 - 1e-7))

    _bad(_verdict(_index_impl(clipped), "extreme_logits"), "finite values off")
    _bad(_verdict(_index_impl(clipped), "extreme_logits_none"), "finite values off")


def test_log_of_sigmoid_instead_of_the_softplus_form_is_caught() -> None:
    def naive(pred: Any, target: Any, weight: Any, pos_weight: Any, opts: Any) -> Any:
        p = 1 / (1 + np.exp(-pred))  # in pred's dtype: 0 and 1 exactly at ±1e4
        y = target
        pw = 1 if pos_weight is None else pos_weight.reshape(1, -1)
        with np.errstate(all="ignore"):
            loss = -(pw * y * np.log(p) + (1 - y) * np.log(1 - p))
        return _reduce(loss, opts, loss.size, pred.dtype)

    _ok(naive, "sigmoid_none_pos_weight_f64")
    _bad(_verdict(naive, "extreme_logits_sigmoid_none"), "infinite values that differ")


def test_keras_style_clipping_of_probability_inputs_is_caught() -> None:
    """torch clamps each log at -100 (p = 0 costs 100); clipping p to [1e-7, 1 - 1e-7]
    caps the loss at 16.1."""

    def keras(pred: Any, target: Any, weight: Any, pos_weight: Any, opts: Any) -> Any:
        clipped = np.clip(pred, 1e-7, 1 - 1e-7)
        return _oracle_in_dtype()(clipped, target, weight, pos_weight, opts)

    _ok(keras, "index_probabilities")
    _bad(_verdict(keras, "exact_01_none"), "finite values off")
    _bad(_verdict(keras, "exact_01_sigmoid_none"), "finite values off")
    _bad(_verdict(keras, "exact_01_probability_none"), "finite values off")


# ---- layout, blocks, dtype, shapes, input integrity -------------------------------------


def test_the_class_axis_taken_last_is_caught() -> None:
    def class_last(pred: Any, target: Any, weight: Any, pos_weight: Any, opts: Any) -> Any:
        moved = np.ascontiguousarray(np.moveaxis(pred, -1, 1))  # a channels-last reading
        if moved.shape[1] != pred.shape[1]:
            raise ValueError("pred has the wrong class count")
        return _oracle_in_dtype()(moved, target, weight, pos_weight, opts)

    _ok(class_last, "index_weighted")
    _bad(_verdict(class_last, "index_kdim"))


def _blocked(rows: int, overwrite_sum: bool, class_tile: int | None) -> Impl:
    """A blocked index CE: blocks of ``rows`` samples whose weight sums are accumulated (or,
    the mistake, assigned: only the last block's survives), and optionally class tiles whose
    exp-sums are each taken under their own max and added without rescaling."""

    def log_probs(x: np.ndarray) -> Any:
        if class_tile is None:
            return _lse_log_softmax(x)
        top = x.max(axis=1, keepdims=True)
        total = np.zeros_like(top)
        for c0 in range(0, x.shape[1], class_tile):
            tile = x[:, c0 : c0 + class_tile]
            total += np.exp(tile - tile.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True)
        return x - top - np.log(total)

    def impl(pred: Any, target: Any, weight: Any, pos_weight: Any, opts: Any) -> Any:
        loss, wt = _index_losses(pred, target, weight, log_probs, opts.ignore_index)
        den = 0.0
        for r0 in range(0, len(wt), rows):
            block = wt[r0 : r0 + rows].sum()
            den = block if overwrite_sum else den + block
        return _reduce(loss, opts, den, pred.dtype)

    return impl


def test_a_blocked_kernel_wrong_only_past_its_first_block_is_caught() -> None:
    last_block = _blocked(rows=256, overwrite_sum=True, class_tile=None)
    tiles = _blocked(rows=256, overwrite_sum=False, class_tile=256)
    _ok(last_block, "index_weighted")  # 40 samples: one block
    _ok(tiles, "index_weighted")  # 7 classes: one tile
    _bad(_verdict(last_block, "many_rows_f64"), "finite values off")  # 600 samples
    _bad(_verdict(tiles, "wide_rows"), "finite values off")  # 1000 classes


def test_float32_arithmetic_on_float64_inputs_is_caught() -> None:
    def in_float32(pred: Any, target: Any, weight: Any, pos_weight: Any, opts: Any) -> Any:
        low = [None if a is None else a.astype(np.float32) for a in (pred, weight, pos_weight)]
        x32 = _oracle_in_dtype()(low[0], target, low[1], low[2], opts)
        return np.asarray(x32).astype(pred.dtype)

    _bad(_verdict(in_float32, "index_weighted_f64"), "finite values off")
    _bad(_verdict(in_float32, "sigmoid_none_pos_weight_f64"), "finite values off")


def test_wrong_shapes_dtypes_and_input_writes_are_caught() -> None:
    def flat_empty(pred: Any, target: Any, weight: Any, pos_weight: Any, opts: Any) -> Any:
        out = _oracle_in_dtype()(pred, target, weight, pos_weight, opts)
        return out.reshape(-1) if out.size == 0 else out  # (0,) for (0, C)

    def float64_out(pred: Any, target: Any, weight: Any, pos_weight: Any, opts: Any) -> Any:
        return np.asarray(cross_entropy_softmax_sigmoid(pred, target, weight, pos_weight, opts))

    def in_place(pred: Any, target: Any, weight: Any, pos_weight: Any, opts: Any) -> Any:
        out = _oracle_in_dtype()(pred, target, weight, pos_weight, opts)
        if out.shape == pred.shape:  # the elementwise loss written over the logits
            pred[...] = out
            return pred
        return out

    _bad(_verdict(flat_empty, "no_samples_sigmoid_none"), "has shape (0,), expected (0, 5)")
    _bad(_verdict(float64_out, "index_weighted"), "has dtype float64, expected float32")
    _bad(_verdict(in_place, "sigmoid_probabilities_none_f64"), "modified its input(s) ['pred']")


def test_inconsistent_flags_and_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="ignore_index"):
        CrossEntropyOptions(form="probability", ignore_index=1)
    x = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"\btarget\b"):
        cross_entropy_softmax_sigmoid(x, np.array([0, 4, 1]), None, None, CrossEntropyOptions())
    with pytest.raises(ValueError, match=r"\bweight\b"):
        cross_entropy_softmax_sigmoid(x, np.array([0, 1, 1]), np.ones(1), None,
                                      CrossEntropyOptions())  # fmt: skip
