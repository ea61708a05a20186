"""label_smoothing_ce: the suite catches the classic mistakes of label-smoothed cross-entropy.

Each wrong implementation below makes one mistake (a smoothing distribution, a normalisation,
a forgotten weight or mask, a numerically naive formula); verify must flag it on the case
built for it, and where it says so pass it on a case the mistake does not touch. Inputs are
the suite's, from its fixed seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation, load_registry
from harness.verify import Verdict, verify
from suites.label_smoothing_ce import SUITE, SmoothingOptions, label_smoothing_ce

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


def _lse_log_softmax(x: np.ndarray) -> np.ndarray:
    top = x.max(axis=1, keepdims=True)
    out: np.ndarray = x - top - np.log(np.exp(x - top).sum(axis=1, keepdims=True))
    return out


def _smoothed(
    log_probs: Callable[[np.ndarray], Any] = _lse_log_softmax,
    *,
    spread: str = "suite",  # "suite": the option's rule; or "uniform" / "others" always
    weigh_smoothing: bool = True,
    mask_ignored: bool = True,
    denominator: str = "weights",  # or "kept" (a count), "safe" (max(Σw, 1))
) -> Impl:
    """A label-smoothed CE built from explicit smoothed targets, one choice per mistake."""

    def impl(logits: Any, target: Any, weight: Any, smoothing: Any, opts: Any) -> Any:
        x = logits.astype(np.float64)
        c, eps = x.shape[1], float(smoothing)
        w = np.ones(c) if weight is None else weight.astype(np.float64)
        kept = target != opts.ignore_index
        safe = np.where(kept, target, 0)
        with np.errstate(all="ignore"):
            logp = log_probs(x)
        onehot = np.moveaxis(np.eye(c)[safe], -1, 1)
        rule = opts.distribution if spread == "suite" else spread
        off = eps / c if rule == "uniform" else eps / (c - 1)
        w_b = w.reshape((1, -1) + (1,) * (x.ndim - 2))
        wt = np.where(kept, w[safe], 0.0)
        with np.errstate(all="ignore"):
            nll = -(onehot * logp).sum(axis=1) * wt
            smooth = -((w_b if weigh_smoothing else 1.0) * logp).sum(axis=1)
            if rule == "others":
                smooth = smooth + (onehot * logp).sum(axis=1) * (wt if weigh_smoothing else 1.0)
            loss = (1 - eps) * nll + off * np.where(kept | (not mask_ignored), smooth, 0.0)
        loss = np.where(kept | (not mask_ignored), loss, 0.0)
        if opts.reduction == "none":
            return loss.astype(logits.dtype)
        if opts.reduction == "sum":
            return np.asarray(loss.sum(), logits.dtype)
        den = {"weights": wt.sum(), "kept": kept.sum(), "safe": max(wt.sum(), 1.0)}[denominator]
        with np.errstate(all="ignore"):
            return np.asarray(loss.sum() / den, logits.dtype)

    return impl


REGISTRY = load_registry()
PROJECT = [
    REGISTRY.implementations[f"label_smoothing_ce/{k}"] for k in ("numpy/gemv", "library/torch")
]


def test_the_correct_variant_and_the_project_implementations_pass_the_cases_used_below() -> None:
    _ok(_smoothed(), "weighted", "others", "weighted_none_f64", "ignore_class_1",
        "extreme_logits", "all_ignored_mean", "kdim", "wide_rows", "many_rows_f64")  # fmt: skip
    for impl in PROJECT:
        for case in ("weighted", "extreme_logits_none", "ignore_class_1"):
            v = verify(SUITE, impl, SUITE.find_case(case))
            assert v.status == "pass", (impl.key, case, v.detail)


def test_the_smoothing_distribution_convention_is_enforced_both_ways() -> None:
    """ε/C on every class (torch) vs ε/(C - 1) on the wrong classes only."""
    always_others, always_uniform = _smoothed(spread="others"), _smoothed(spread="uniform")
    _ok(always_others, "others")
    _ok(always_uniform, "weighted")
    _bad(_verdict(always_others, "weighted"), "finite values off")
    _bad(_verdict(always_others, "two_classes"), "finite values off")
    _bad(_verdict(always_uniform, "others"), "finite values off")
    _bad(_verdict(always_uniform, "full_smoothing_others_none"), "finite values off")


def test_the_smoothing_term_without_class_weights_is_caught() -> None:
    unweighted = _smoothed(weigh_smoothing=False)  # Σ_c -log p_c, torch weighs it by w_c
    _ok(unweighted, "f64")  # no weights: the same
    _bad(_verdict(unweighted, "weighted_f64"), "finite values off")
    _bad(_verdict(unweighted, "full_smoothing_f64"), "finite values off")


def test_the_smoothing_term_of_ignored_targets_left_in_is_caught() -> None:
    unmasked = _smoothed(mask_ignored=False)
    _ok(unmasked, "extreme_logits")  # nothing ignored
    _bad(_verdict(unmasked, "ignore_class_1"), "finite values off")
    _bad(_verdict(unmasked, "all_ignored_none"), "finite values off")


def test_a_mean_over_the_count_instead_of_the_summed_weights_is_caught() -> None:
    by_count = _smoothed(denominator="kept")
    _ok(by_count, "f64", "weighted_sum")
    _bad(_verdict(by_count, "weighted"), "finite values off")
    _bad(_verdict(by_count, "strong_smoothing_f64"), "finite values off")


def test_all_ignored_must_give_torch_s_nan_not_a_safe_zero() -> None:
    safe = _smoothed(denominator="safe")
    _ok(safe, "all_ignored_sum", "all_ignored_none", "weighted")
    _bad(_verdict(safe, "all_ignored_mean"), "numbers where the oracle has NaN")


def test_a_softmax_without_the_max_shift_overflows_at_logits_1e4() -> None:
    def naive(x: np.ndarray) -> Any:
        e = np.exp(x.astype(np.float32))
        return np.log(e / e.sum(axis=1, keepdims=True))

    _ok(_smoothed(naive), "weighted")
    _bad(_verdict(_smoothed(naive), "extreme_logits"), "NaN where the oracle has a number")


def test_clipped_probabilities_where_torch_uses_log_sum_exp_are_caught() -> None:
    """softmax, clip to [1e-7, 1 - 1e-7], log: every -log p caps at 16.1."""

    def clipped(x: np.ndarray) -> Any:
        return np.log(np.clip(np.exp(_lse_log_softmax(x)), 1e-7, 1 - 1e-7))

    _bad(_verdict(_smoothed(clipped), "extreme_logits"), "finite values off")
    _bad(_verdict(_smoothed(clipped), "extreme_logits_others_none"), "finite values off")


def test_the_class_axis_taken_last_is_caught() -> None:
    def class_last(logits: Any, target: Any, weight: Any, smoothing: Any, opts: Any) -> Any:
        moved = np.ascontiguousarray(np.moveaxis(logits, -1, 1))
        if moved.shape[1] != logits.shape[1]:
            raise ValueError("logits has the wrong class count")
        return _smoothed()(moved, target, weight, smoothing, opts)

    _ok(class_last, "weighted")
    _bad(_verdict(class_last, "kdim"))


def test_a_blocked_kernel_wrong_only_past_its_first_block_is_caught() -> None:
    def tiles_unrescaled(x: np.ndarray) -> Any:  # class tiles of 256, each under its own max
        top = x.max(axis=1, keepdims=True)
        total = np.zeros_like(top)
        for c0 in range(0, x.shape[1], 256):
            tile = x[:, c0 : c0 + 256]
            total += np.exp(tile - tile.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True)
        return x - top - np.log(total)

    def last_block_weights(logits: Any, target: Any, weight: Any, smoothing: Any,
                           opts: Any) -> Any:  # fmt: skip
        """Right losses; the weight sum assigned (not added) per block of 256 samples."""
        total = _smoothed()(logits, target, weight, smoothing, replace(opts, reduction="sum"))
        w = np.ones(logits.shape[1]) if weight is None else weight.astype(np.float64)
        wt = np.where(target != opts.ignore_index, w[np.maximum(target, 0)], 0.0)
        den = 0.0
        for r0 in range(0, len(wt), 256):
            den = wt[r0 : r0 + 256].sum()
        return np.asarray(total / den, logits.dtype)

    _ok(_smoothed(tiles_unrescaled), "weighted")
    _ok(last_block_weights, "weighted")
    _bad(_verdict(_smoothed(tiles_unrescaled), "wide_rows"), "finite values off")
    _bad(_verdict(last_block_weights, "many_rows_f64"), "finite values off")


def test_float32_arithmetic_on_float64_inputs_is_caught() -> None:
    def in_float32(logits: Any, target: Any, weight: Any, smoothing: Any, opts: Any) -> Any:
        w32 = None if weight is None else weight.astype(np.float32)
        out = label_smoothing_ce(logits.astype(np.float32), target, w32, smoothing, opts)
        return np.asarray(np.asarray(out).astype(np.float32), logits.dtype)

    _bad(_verdict(in_float32, "weighted_f64"), "finite values off")
    _bad(_verdict(in_float32, "others_none_f64"), "finite values off")


def test_wrong_shapes_dtypes_and_input_writes_are_caught() -> None:
    def flat_empty(logits: Any, target: Any, weight: Any, smoothing: Any, opts: Any) -> Any:
        out = _smoothed()(logits, target, weight, smoothing, opts)
        return out.reshape(1, -1) if out.size == 0 else out  # (1, 0) for (0,)

    def float64_out(logits: Any, target: Any, weight: Any, smoothing: Any, opts: Any) -> Any:
        return np.asarray(label_smoothing_ce(logits, target, weight, smoothing, opts))

    def in_place(logits: Any, target: Any, weight: Any, smoothing: Any, opts: Any) -> Any:
        out = _smoothed()(logits, target, weight, smoothing, opts)
        logits -= logits.max(axis=1, keepdims=True)  # the max shift done on the caller's array
        return out

    _bad(_verdict(flat_empty, "no_samples_none"), "has shape (1, 0), expected (0,)")
    _bad(_verdict(float64_out, "weighted"), "has dtype float64, expected float32")
    _bad(_verdict(in_place, "weighted"), "modified its input(s) ['logits']")


def test_the_oracle_is_torch_s_label_smoothing_and_plain_ce_at_zero() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x, t, w = rng.standard_normal((9, 4)), rng.integers(0, 4, 9), rng.uniform(0.5, 2, 4)
    t[2] = -100
    for eps, red in ((0.0, "mean"), (0.3, "mean"), (0.3, "none"), (1.0, "sum")):
        ours = label_smoothing_ce(x, t, w, eps, SmoothingOptions(reduction=red))
        theirs = torch.nn.functional.cross_entropy(
            torch.from_numpy(x), torch.from_numpy(t), torch.from_numpy(w),
            reduction=red, label_smoothing=eps,
        )  # fmt: skip
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match=r"\blogits\b"):
        label_smoothing_ce(x[:, :1], np.zeros(9, np.int64), None, 0.1,
                           SmoothingOptions(distribution="others"))  # fmt: skip
