"""hard_negative_mining: the suite catches the classic mistakes of SSD loss code.

Each wrong implementation below makes one mistake (positives in the negatives' ranking,
mining over the whole batch instead of per image, a per-image or per-selection normaliser,
a minimum of negatives where the rule keeps none, ranking by the background logit, a
log-sum-exp without the max shift, an image block cut short, float32 arithmetic); verify
must flag it on the case built for it, and pass it where the mistake changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation, load_registry
from harness.verify import Verdict, verify
from suites.hard_negative_mining import (
    SUITE,
    MiningOptions,
    check,
    hard_negative_mining,
    negatives_kept,
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


def _ce(x: np.ndarray, y: np.ndarray, shift: bool = True) -> np.ndarray:
    m = x.max(axis=2, keepdims=True) if shift and x.size else np.zeros((*x.shape[:2], 1), x.dtype)
    lse = np.log(np.exp(x - m).sum(axis=2)) + m[..., 0]
    return lse - np.take_along_axis(x, y[..., None], axis=2)[..., 0]  # type: ignore[no-any-return]


def _impl(work: Any = None, pool: str = "negatives", scope: str = "image", norm: str = "total",
          kept: Callable[..., int] = negatives_kept, key: str = "ce", shift: bool = True,
          images: int = 1 << 62) -> Impl:  # fmt: skip
    """An implementation with one knob turned; ``images``: the images a blocked kernel
    that drops its last partial block reaches."""

    def impl(logits: Any, labels: Any, ratio: Any, opts: Any) -> Any:
        check(logits, labels, ratio)
        x, y = logits.astype(work or logits.dtype)[:images], labels[:images]
        with np.errstate(all="ignore"):
            ce = _ce(x, y, shift)
        rank = ce if key == "ce" else -x[..., 0]
        pos = y > 0
        total, per_image, selected = 0.0, [], 0
        chosen = np.zeros_like(pos)
        for i in range(len(x)):
            cand = np.ones_like(pos[i]) if pool == "all" else ~pos[i]
            k = kept(int(pos[i].sum()), int((~pos[i]).sum()), int(ratio), opts)
            order = np.flatnonzero(cand)[np.argsort(-rank[i][cand], kind="stable")][:k]
            chosen[i, order] = True
            part = float(ce[i][pos[i]].sum()) + float(ce[i][order].sum())
            total += part
            per_image.append(part / max(1, int(pos[i].sum())))
            selected += int(pos[i].sum()) + len(order)
        if scope == "batch":  # the batch's hardest negatives, not each image's
            k = min(int(ratio) * int(pos.sum()), int((~pos).sum()))
            total = float(ce[pos].sum()) + float(np.sort(ce[~pos])[::-1][:k].sum())
        value = {"total": total / max(1, int(pos.sum())), "image": np.mean(per_image or [0.0]),
                 "selected": total / max(1, selected)}[norm]  # fmt: skip
        return np.asarray(value, logits.dtype)

    return impl


def test_the_correct_variant_and_the_project_implementations_pass_the_cases_used_below() -> None:
    _ok(_impl(), "random", "random_f64", "dense_positives_f64", "no_pos_image", "ties",
        "large_logits", "multi_block", "min_negatives_f64", "empty_batch")  # fmt: skip
    registry = load_registry()
    for key in ("numpy/partition", "torch_cpu/topk"):
        impl = registry.implementations[f"hard_negative_mining/{key}"]
        for case in ("ties_f64", "fewer_negatives_than_3_pos", "no_positives_min_negatives"):
            v = verify(SUITE, impl, SUITE.find_case(case))
            assert v.status == "pass", (impl.key, case, v.detail)


def test_positives_taking_part_in_the_ranking_are_caught() -> None:
    """A positive ranked among the negatives is counted twice (or pushes a negative out)."""
    _ok(_impl(pool="all"), "ratio_0_f64")  # nothing mined
    _bad(_verdict(_impl(pool="all"), "dense_positives_f64"), "finite values off")


def test_mining_over_the_batch_instead_of_each_image_is_caught() -> None:
    _ok(_impl(scope="batch"), "all_positive")
    _bad(_verdict(_impl(scope="batch"), "random"), "finite values off")


def test_the_normaliser_is_the_batch_s_positives() -> None:
    for norm in ("image", "selected"):
        _ok(_impl(norm=norm), "no_positives_at_all")  # 0 either way
        _bad(_verdict(_impl(norm=norm), "random"), "finite values off")


def test_an_image_without_positives_keeps_no_negatives_unless_asked() -> None:
    def at_least_one_positive(num_pos: int, num_neg: int, ratio: int, opts: Any) -> int:
        return min(ratio * max(1, num_pos), num_neg)  # a common shortcut

    wrong = _impl(kept=at_least_one_positive)
    _ok(wrong, "all_positive")
    _bad(_verdict(wrong, "no_pos_image"), "finite values off")
    ignores_minimum = _impl(
        kept=lambda num_pos, num_neg, ratio, opts: min(ratio * num_pos, num_neg)
    )
    _ok(ignores_minimum, "no_pos_image")
    _bad(_verdict(ignores_minimum, "min_negatives_f64"), "finite values off")


def test_ranking_by_the_background_logit_instead_of_the_loss_is_caught() -> None:
    _bad(_verdict(_impl(key="logit"), "random"), "finite values off")


def test_a_log_sum_exp_without_the_max_shift_overflows() -> None:
    _ok(_impl(shift=False), "random")
    _bad(_verdict(_impl(shift=False), "large_logits"), "infinite values that differ")


def test_a_blocked_kernel_dropping_its_last_partial_block_is_caught() -> None:
    _ok(_impl(images=256), "random")  # 5 images
    _bad(_verdict(_impl(images=256), "multi_block"), "finite values off")  # 300 images


def test_float32_arithmetic_on_float64_inputs_is_caught() -> None:
    _bad(_verdict(_impl(work=np.float32), "random_f64"), "finite values off")


def test_wrong_shapes_and_dtypes_are_caught() -> None:
    def vector(logits: Any, labels: Any, ratio: Any, opts: Any) -> Any:
        return np.atleast_1d(_impl()(logits, labels, ratio, opts))

    def float64_out(logits: Any, labels: Any, ratio: Any, opts: Any) -> Any:
        return hard_negative_mining(logits, labels, ratio, opts)

    _bad(_verdict(vector, "empty_batch"), "has shape (1,), expected ()")
    _bad(_verdict(float64_out, "random"), "has dtype float64, expected float32")


def test_the_oracle_is_torchvision_s_ssd_rule_written_in_torch() -> None:
    """torchvision's SSD head: cross_entropy, positives at -inf, the double argsort."""
    torch = pytest.importorskip("torch")
    f = torch.nn.functional
    case = SUITE.find_case("dense_positives_f64")
    inputs = SUITE.make_inputs(case)  # type: ignore[arg-type]
    x, y = torch.from_numpy(inputs["logits"]), torch.from_numpy(inputs["labels"])
    b, a, c = x.shape
    ce = f.cross_entropy(x.reshape(-1, c), y.reshape(-1), reduction="none").view(b, a)
    fg = y > 0
    num_neg = 3 * fg.sum(1, keepdim=True)
    neg = ce.clone()
    neg[fg] = -torch.inf
    _, idx = neg.sort(1, descending=True)
    background = (idx.sort(1)[1] < num_neg) & ~fg  # the cap num_neg: -inf never counts
    want = (ce[fg].sum() + ce[background].sum()) / max(1, int(fg.sum()))
    got = hard_negative_mining(inputs["logits"], inputs["labels"], 3, MiningOptions())
    np.testing.assert_allclose(got, want.item(), rtol=1e-13)
