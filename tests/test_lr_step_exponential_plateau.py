"""lr_step_exponential_plateau: the classic mistakes of step, multistep, exponential and
plateau schedules are each caught by the suite; a correct sequence passes, and the chained
and closed forms agree within the stated tolerance although they differ in the last bits."""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.verify import Verdict, case_inputs, verify
from suites.lr_step_exponential_plateau import (
    ARGS,
    SUITE,
    LrOptions,
    lr_step_exponential_plateau,
    tolerance,
)

Schedule = Callable[[Any, Any, LrOptions], Any]


def schedule_with(mistake: str = "") -> Schedule:
    """A NumPy-world schedule with at most one deliberate mistake (``""``: correct)."""

    def plateau(metrics: list[float], opts: LrOptions) -> list[float]:
        lower, lr = opts.mode == "min", opts.base_lr
        best, bad, cooling, out = (math.inf if lower else -math.inf), 0, 0, []
        for m in metrics:
            if mistake != "same_epoch_metric":
                out.append(lr)  # the lr of epoch e, before its metric is seen
            rel = opts.threshold_mode == "rel" and mistake != "always_abs"
            rel = rel or mistake == "always_rel"
            if rel and mistake == "rel_of_magnitude":
                bar = (
                    best - abs(best) * opts.threshold
                    if lower
                    else best + abs(best) * opts.threshold
                )
            elif rel:
                bar = best * (1 - opts.threshold) if lower else best * (1 + opts.threshold)
            else:
                bar = best - opts.threshold if lower else best + opts.threshold
            if mistake == "nan_improves":
                better = not (m >= bar) if lower else not (m <= bar)
            elif mistake == "ties_improve":
                better = m <= bar if lower else m >= bar
            else:
                better = m < bar if lower else m > bar
            if better:
                best, bad = m, 0
            else:
                bad += 1
            if cooling > 0 and mistake != "cooldown_ignored":
                cooling, bad = cooling - 1, 0
            if (bad >= opts.patience) if mistake == "patience_ge" else (bad > opts.patience):
                new = (
                    lr * opts.factor
                    if mistake == "min_lr_ignored"
                    else max(lr * opts.factor, opts.min_lr)
                )
                if lr - new > opts.eps or mistake == "eps_ignored":
                    lr = new
                cooling, bad = opts.cooldown, 0
            if mistake == "same_epoch_metric":
                out.append(lr)  # the lr after this epoch's metric: one epoch early
        return out

    def decays(e: int, stones: list[int], opts: LrOptions) -> int:
        if opts.schedule == "step":
            return (e + 1) // opts.step_size if mistake == "step_one_early" else e // opts.step_size
        if opts.schedule == "multistep":
            if mistake == "milestones_deduplicated":
                return sum(m <= e for m in set(stones))
            if mistake == "bisect_unsorted":
                return bisect.bisect_right(stones, e)
            return sum(m <= e for m in stones)
        return e

    def run(metrics: Any, milestones: Any, opts: LrOptions) -> Any:
        ARGS.check(metrics, milestones)
        dtype = np.float32 if mistake == "float32" else np.float64
        if opts.schedule == "plateau":
            out = np.asarray(plateau(metrics.tolist(), opts), dtype=dtype)
        else:
            stones = milestones.tolist()
            epochs = range(metrics.shape[0])
            if mistake == "restarts_every_256":  # a chunked kernel whose epoch index restarts
                epochs = [e % 256 for e in epochs]
            ks = [decays(e, stones, opts) for e in epochs]
            out = dtype(opts.base_lr) * dtype(opts.gamma) ** np.asarray(ks, dtype=dtype)
        out = out.astype(np.float64)  # "float32": computed in float32, returned as float64
        if mistake == "empty_as_one" and out.size == 0:
            return np.zeros(1)
        if mistake == "written_into_metrics" and out.shape == metrics.shape:
            metrics[...] = out  # reuses the caller's array as its output buffer
            return metrics
        return out

    return run


def verdict(fn: Schedule, case_name: str) -> Verdict:
    impl = Implementation("lr_step_exponential_plateau", "numpy", "under_test", fn)
    return verify(SUITE, impl, SUITE.find_case(case_name))


def test_a_correct_schedule_passes_every_case() -> None:
    for case in SUITE.cases:
        v = verdict(schedule_with(), case.name)
        assert v.status == "pass", (case.name, v.detail)


# mistake -> (a case it passes, a case it fails, words the diagnosis contains)
MISTAKES = {
    # the threshold mode ignored one way or the other
    "always_rel": ("plateau_1000", "plateau_abs_negative_metrics", "elements differ"),
    "always_abs": ("plateau_abs_1000", "plateau_rel_negative_metrics", "elements differ"),
    # best - |best|·threshold: sensible, but torch multiplies best, sign and all
    # (and at the start inf - inf is NaN: the first metric is never an improvement)
    "rel_of_magnitude": ("plateau_abs_1000", "plateau_rel_negative_metrics", "elements differ"),
    # lr0·γ^((e + 1) // s): the first decay at e = s - 1
    "step_one_early": ("exponential_1000", "step_first_decay", "first at (6,)"),
    # a repeated milestone decays once per occurrence in torch
    "milestones_deduplicated": ("multistep_1000", "multistep_unsorted_duplicates", "differ"),
    "bisect_unsorted": ("multistep_1000", "multistep_unsorted_duplicates", "differ"),
    # bad epochs counted with >= patience: one epoch early
    "patience_ge": ("step_1000", "plateau_1000", "elements differ"),
    # lrs[e] after step(metrics[e]) instead of the lr in effect during epoch e
    "same_epoch_metric": ("multistep_1000", "plateau_1000", "elements differ"),
    "nan_improves": ("plateau_1000", "plateau_nan_metrics", "elements differ"),
    "ties_improve": ("plateau_1000", "plateau_ties_threshold_0", "elements differ"),
    "cooldown_ignored": ("plateau_1000", "plateau_cooldown", "elements differ"),
    "min_lr_ignored": ("plateau_1000", "plateau_min_lr", "elements differ"),
    "eps_ignored": ("plateau_eps_0", "plateau_eps_stops_decay", "elements differ"),
    "float32": ("no_epochs", "exponential_1000", "finite values off"),
    "restarts_every_256": ("step_first_decay", "step_1000", "first at (256,)"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_each_classic_mistake_is_caught_where_it_matters(mistake: str) -> None:
    passes, fails, words = MISTAKES[mistake]
    assert verdict(schedule_with(mistake), passes).status == "pass", f"{mistake} on {passes}"
    v = verdict(schedule_with(mistake), fails)
    assert v.status == "fail" and words in v.detail, (mistake, v.status, v.detail)


def test_an_empty_sequence_of_the_wrong_shape_is_caught() -> None:
    v = verdict(schedule_with("empty_as_one"), "no_epochs")
    assert v.status == "fail" and "has shape (1,), expected (0,)" in v.detail


def test_an_output_written_into_the_metrics_is_caught() -> None:
    v = verdict(schedule_with("written_into_metrics"), "plateau_1000")
    assert v.status == "fail" and "modified its input(s) ['metrics']" in v.detail


def test_chained_and_closed_forms_differ_in_the_last_bits_but_within_tolerance() -> None:
    """The tolerance is not slack for nothing: 1,000 chained multiplications by 0.99 drift
    from 0.99**e by a few dozen ulps; 2·(E + 2) ulps bounds them."""
    case = SUITE.find_case("exponential_chained_1000")
    inputs = case_inputs(SUITE, case)
    chained = lr_step_exponential_plateau(*inputs.values(), LrOptions(**case.options))
    closed = lr_step_exponential_plateau(
        *inputs.values(), LrOptions(**{**case.options, "form": "closed"})
    )
    rel = np.abs(chained - closed) / closed
    assert rel.max() > 0
    assert rel.max() <= tolerance(case).rtol


def test_the_near_threshold_case_holds_one_ulp_improvements() -> None:
    """The metrics sit one float64 ulp under best·(1 − threshold) (an improvement) or exactly
    on it (not one); rounded to float32 some improvements are lost, and the lrs change."""
    case = SUITE.find_case("plateau_near_threshold_f64")
    metrics = case_inputs(SUITE, case)["metrics"]
    opts = LrOptions(**case.options)
    exact = lr_step_exponential_plateau(metrics, np.zeros(0, dtype=np.int64), opts)
    rounded = metrics.astype(np.float32).astype(np.float64)
    lowered = lr_step_exponential_plateau(rounded, np.zeros(0, dtype=np.int64), opts)
    assert not np.array_equal(exact, lowered)
    halvings = opts.base_lr * 0.5 ** np.arange(exact.size // 2)  # a bad epoch every other one
    assert np.array_equal(exact[0::2], halvings) and np.array_equal(exact[1::2], halvings)


def test_options_refuse_what_torch_refuses_and_the_spec_forbids() -> None:
    torch = pytest.importorskip("torch")
    for bad in SUITE.invalid_options:
        with pytest.raises(ValueError):
            LrOptions(**bad)
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match=r"Factor should be < 1\.0"):
        torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=1.0)


def test_fuzz_cases_build_and_a_correct_schedule_agrees() -> None:
    """Ten fuzz draws (hypothesis seed 0, not tuned): the strategy makes valid cases."""
    from harness.fuzz import fuzz

    impl = Implementation("lr_step_exponential_plateau", "numpy", "t", schedule_with())
    outcome = fuzz(SUITE, impl, 10, seed=0)
    assert outcome.ok, outcome.verdict
