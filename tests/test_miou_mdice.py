"""miou_mdice: the suite catches the classic mistakes of mean IoU / mean Dice.

Each wrong implementation below is one mistake people make; verify must flag it on the case
built for it and pass it where the mistake makes no difference. Inputs are the suite's
fixed seeds; nothing was tuned to pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from harness.registry import Implementation
from harness.verify import Verdict, verify
from suites.miou_mdice import SUITE, MiouOptions, check, finish, metrics


def _verdict(fn: Callable[..., Any], case: str) -> Verdict:
    impl = Implementation(SUITE.algorithm, "numpy", "wrong", fn)
    found = SUITE.find_case(case)
    return verify(SUITE, impl, found if hasattr(found, "kind") else found.as_case())


def _bad(v: Verdict, *phrases: str) -> None:
    assert v.status in ("fail", "error"), (v.status, v.detail)
    for phrase in phrases:
        assert phrase in v.detail, v.detail


def _matrices(pred: Any, target: Any, c: int, opts: MiouOptions) -> Any:
    """(N, C, C) int64 confusion matrices, rows target, columns pred."""
    n = len(pred)
    cms = np.zeros((n, c, c), dtype=np.int64)
    for i in range(n):
        t, p = target[i].ravel(), pred[i].ravel()
        keep = t != opts.ignore_index if opts.ignore_index is not None else np.ones(t.shape, bool)
        np.add.at(cms[i], (t[keep], p[keep]), 1)
    return cms


Finish = Callable[[Any, Any, MiouOptions], tuple[Any, Any]]


def _impl(
    matrices: Callable[..., Any] = _matrices,
    finishing: Finish = finish,
    tweak: Callable[[MiouOptions], MiouOptions] = lambda o: o,
) -> Callable[..., Any]:
    """An implementation from the confusion matrices, a finishing step, and the options the
    finishing step is told (a tweak there is a convention mix-up)."""

    def impl(pred: Any, target: Any, class_weights: Any, opts: MiouOptions) -> Any:
        dtype = check(pred, target, class_weights, opts)
        cms = matrices(pred, target, len(class_weights), opts)
        told = tweak(opts)
        whole = cms.sum(axis=0) if told.accumulate == "dataset" else cms
        iou, dice = finishing(whole, class_weights, told)
        return np.asarray(iou).astype(dtype), np.asarray(dice).astype(dtype)

    return impl


def test_the_correct_variant_passes_the_cases_used_below() -> None:
    cases = ("random", "per_class", "per_image", "absent_class", "weighted", "support_weighted",
             "tall_images", "absent_in_some_images", "micro")  # fmt: skip
    for case in cases:
        assert _verdict(_impl(), case).status == "pass", case


def test_mdice_from_miou_through_the_per_class_identity_is_caught() -> None:
    """2·IoU/(1 + IoU) holds per class, not for the means: (0.5, 0.5) and (0.9, 0.12)."""

    def from_miou(cm: Any, w: Any, opts: MiouOptions) -> tuple[Any, Any]:
        iou, _ = finish(cm, w, opts)
        return iou, 2 * iou / (1 + iou)

    assert _verdict(_impl(finishing=from_miou), "per_class").status == "pass"
    _bad(_verdict(_impl(finishing=from_miou), "random"), "output 'dice'")


def test_per_image_means_where_the_dataset_is_asked_and_back_are_caught() -> None:
    per_image = _impl(tweak=lambda o: replace(o, accumulate="per_image"))
    dataset = _impl(tweak=lambda o: replace(o, accumulate="dataset"))
    _bad(_verdict(per_image, "random"), "finite values off")
    _bad(_verdict(dataset, "per_image"), "finite values off")
    _bad(_verdict(dataset, "absent_in_some_images_per_class"), "finite values off")


def test_absent_classes_follow_the_convention() -> None:
    counted_as_zero = _impl(tweak=lambda o: replace(o, absent="zero"))
    assert _verdict(counted_as_zero, "random").status == "pass"  # every class present
    _bad(_verdict(counted_as_zero, "absent_class"), "finite values off")
    _bad(_verdict(counted_as_zero, "absent_class_per_class"), "numbers where the oracle has NaN")
    _bad(_verdict(_impl(tweak=lambda o: replace(o, absent="nan")), "absent_class_one"), "NaN")


def test_ignored_pixels_count_nowhere() -> None:
    def as_background(pred: Any, target: Any, c: int, opts: MiouOptions) -> Any:
        t = np.where(target == opts.ignore_index, 0, target)
        return _matrices(pred, t, c, replace(opts, ignore_index=None))

    def pred_side_too(pred: Any, target: Any, c: int, opts: MiouOptions) -> Any:
        """Ignored pixels dropped from the target's counts only: the prediction still counts
        as a false positive there (a confusion matrix built from two histograms)."""
        cms = _matrices(pred, target, c, opts)
        ignored = target == opts.ignore_index
        for i in range(len(pred)):
            extra = np.bincount(pred[i][ignored[i]], minlength=c)
            cms[i][(np.arange(c) + 1) % c, np.arange(c)] += extra  # FP without a true class
        return cms

    for wrong in (as_background, pred_side_too):
        assert _verdict(_impl(wrong), "no_ignore_index").status == "pass"
        _bad(_verdict(_impl(wrong), "random"), "finite values off")


def test_summing_where_the_reference_averages_and_unnormalised_weights_are_caught() -> None:
    def summed(cm: Any, w: Any, opts: MiouOptions) -> tuple[Any, Any]:
        if opts.average != "macro" or opts.accumulate != "dataset":
            return finish(cm, w, opts)
        iou, dice = metrics(cm, w, replace(opts, average="none"))
        return np.nansum(iou), np.nansum(dice)

    def unnormalised(cm: Any, w: Any, opts: MiouOptions) -> tuple[Any, Any]:
        if opts.average != "weighted":
            return finish(cm, w, opts)
        iou, dice = metrics(cm, w, replace(opts, average="none"))
        return np.nansum(iou * w) / len(w), np.nansum(dice * w) / len(w)

    _bad(_verdict(_impl(finishing=summed), "random"), "finite values off")
    _bad(_verdict(_impl(finishing=unnormalised), "weighted"), "finite values off")


def test_a_transposed_confusion_matrix_shows_in_the_support_weights() -> None:
    """IoU and Dice are symmetric in FP and FN; only the support (target counts) is not."""

    def transposed(pred: Any, target: Any, c: int, opts: MiouOptions) -> Any:
        return _matrices(pred, target, c, opts).transpose(0, 2, 1)

    assert _verdict(_impl(transposed), "random").status == "pass"
    _bad(_verdict(_impl(transposed), "support_weighted"), "finite values off")


def test_a_blocked_histogram_that_drops_its_last_partial_block_is_caught() -> None:
    def blocked(pred: Any, target: Any, c: int, opts: MiouOptions) -> Any:
        pixels = pred.shape[1] * pred.shape[2]
        whole = pixels // 1024 * 1024 or pixels  # the tail block forgotten
        keep = (slice(None), slice(None, whole))
        return _matrices(
            pred.reshape(len(pred), -1)[keep], target.reshape(len(pred), -1)[keep], c, opts
        )

    assert _verdict(_impl(blocked), "random").status == "pass"  # 72 pixels: one block
    _bad(_verdict(_impl(blocked), "tall_images"), "finite values off")


def test_labels_outside_the_classes_must_raise() -> None:
    def no_checks(pred: Any, target: Any, class_weights: Any, opts: MiouOptions) -> Any:
        c = len(class_weights)
        clip = (
            np.clip(pred, 0, c - 1),
            np.where(target == opts.ignore_index, target, np.clip(target, 0, c - 1)),
        )
        cms = _matrices(*clip, c, opts)
        iou, dice = finish(
            cms.sum(axis=0) if opts.accumulate == "dataset" else cms, class_weights, opts
        )
        return iou.astype(class_weights.dtype), dice.astype(class_weights.dtype)

    impl = Implementation(SUITE.algorithm, "numpy", "wrong", no_checks)
    for name in ("target_label_too_large", "pred_label_too_large", "negative_label",
                 "ignore_index_in_pred", "255_without_ignore_index"):  # fmt: skip
        err = next(e for e in SUITE.error_cases if e.name == name)
        _bad(verify(SUITE, impl, err), "must raise ValueError")


def test_precision_empty_shape_and_input_writes_are_caught() -> None:
    def float32_weights(cm: Any, w: Any, opts: MiouOptions) -> tuple[Any, Any]:
        return finish(cm, np.asarray(w, dtype=np.float32), opts)

    def flat_empty(pred: Any, target: Any, class_weights: Any, opts: MiouOptions) -> Any:
        if len(pred) == 0 and opts.average == "none":
            return np.empty((0,)), np.empty((0,))
        return _impl()(pred, target, class_weights, opts)

    def in_place(pred: Any, target: Any, class_weights: Any, opts: MiouOptions) -> Any:
        out = _impl()(pred, target, class_weights, opts)
        target[target == opts.ignore_index] = 0  # "cleaning" the caller's labels
        return out

    _bad(_verdict(_impl(finishing=float32_weights), "weighted"), "finite values off")
    _bad(_verdict(flat_empty, "no_images"), "has shape (0,), expected (5,)")
    _bad(_verdict(in_place, "random"), "modified its input(s) ['target'] in place")
