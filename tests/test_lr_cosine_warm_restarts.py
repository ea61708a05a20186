"""lr_cosine_warm_restarts: the classic mistakes of warm-restart and cosine schedules (a
restart one epoch late or early, a decay already at epoch 0, T_mult ignored, fractional epochs
floored, the cycle found with a float log as torch does...) are each caught by the suite; a
correct schedule passes, and torch's recursion stays within the stated 1e-12 of the closed
form although it drifts."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.spec import Case
from harness.verify import Verdict, case_inputs, verify
from suites.lr_cosine_warm_restarts import (
    ARGS,
    SUITE,
    CosineOptions,
    lr_cosine_warm_restarts,
    recursive_annealing,
    tolerance,
)

Schedule = Callable[[Any, CosineOptions], Any]


def schedule_with(mistake: str = "") -> Schedule:
    """A NumPy-world schedule with at most one deliberate mistake (``""``: correct)."""

    def cycle(e: float, opts: CosineOptions) -> tuple[float, float]:
        mult = 1 if mistake == "t_mult_ignored" else opts.t_mult
        if mistake == "float_log" and e >= opts.t_0 and mult > 1:  # torch's step(epoch)
            n = int(math.log(e / opts.t_0 * (mult - 1) + 1, mult))
            return e - opts.t_0 * (mult**n - 1) / (mult - 1), opts.t_0 * mult**n
        if mistake == "floored":
            e = math.floor(e)
        start, period = 0, opts.t_0
        late = mistake == "restart_one_late"
        while (e > start + period) if late else (e >= start + period):
            start, period = start + period, period * mult
        return e - start, period

    def run(epochs: Any, opts: CosineOptions) -> Any:
        ARGS.check(epochs)
        dtype = np.float32 if mistake == "float32" else np.float64
        n = epochs.shape[0]
        if opts.stepping == "counter" and opts.schedule == "annealing":
            out = np.asarray(recursive_annealing(n, opts), dtype=dtype)
            if mistake == "recursion_without_bottom_step":
                t, lr = opts.t_max, opts.base_lr
                for e in range(1, n):  # the ratio alone: 0/0 at the bottom of the cosine
                    with np.errstate(all="ignore"):
                        num = np.float64(1 + math.cos(math.pi * e / t))
                        lr = (
                            num / (1 + math.cos(math.pi * (e - 1) / t)) * (lr - opts.eta_min)
                            + opts.eta_min
                        )
                    out[e] = lr
        else:
            values = list(range(n)) if opts.stepping == "counter" else epochs.tolist()
            if mistake == "decays_at_epoch_0":  # the lr after the step, not during the epoch
                values = [v + 1 for v in values]
            if mistake == "restarts_every_256":  # a chunked kernel whose index restarts
                values = [values[i % 256] if i >= 256 else v for i, v in enumerate(values)]
            low = 0.0 if mistake == "eta_min_ignored" else opts.eta_min
            out = np.empty(n, dtype=dtype)
            for i, e in enumerate(values):
                if opts.schedule == "annealing":
                    t_cur, period = float(e), float(opts.t_max)
                    if mistake == "annealing_clamped":
                        t_cur = min(t_cur, period)
                else:
                    t_cur, period = cycle(e, opts)
                arg = dtype(math.pi) * dtype(t_cur) / dtype(period)
                out[i] = dtype(low) + dtype(opts.base_lr - low) * (1 + np.cos(arg)) / 2
        out = out.astype(np.float64)  # "float32": computed in float32, returned as float64
        if mistake == "empty_as_one" and out.size == 0:
            return np.zeros(1)
        if mistake == "written_into_epochs" and out.shape == epochs.shape:
            epochs[...] = out  # reuses the caller's array as its output buffer
            return epochs
        return out

    return run


def verdict(fn: Schedule, case_name: str) -> Verdict:
    impl = Implementation("lr_cosine_warm_restarts", "numpy", "under_test", fn)
    return verify(SUITE, impl, SUITE.find_case(case_name))


def test_a_correct_schedule_passes_every_case() -> None:
    for case in SUITE.cases:
        v = verdict(schedule_with(), case.name)
        assert v.status == "pass", (case.name, v.detail)


# mistake -> (a case it passes, a case it fails, words the diagnosis contains)
MISTAKES = {
    # the restart epoch kept in the old cycle (T_cur = T_i: eta_min instead of base_lr)
    "restart_one_late": ("annealing_past_t_max", "restarts_t0_10_1000", "first at (10,)"),
    # lrs[0] already decayed: the lr after step() instead of the lr in effect during epoch 0
    "decays_at_epoch_0": ("t_0_1_mult_1", "restarts_t0_10_1000", "first at (0,)"),
    "t_mult_ignored": ("restarts_t0_10_1000", "restarts_mult_2_1000", "first at (11,)"),
    # torch's int(math.log(...)): wrong cycle where the log rounds, e.g. epoch 121 (T_mult 3)
    "float_log": ("restarts_mult_2_1000", "log_rounding_mult_3", "first at (121,)"),
    "floored": ("restarts_mult_2_1000", "restarts_fractional", "first at (1,)"),
    "eta_min_ignored": ("restarts_t0_10_1000", "restarts_mult_3_eta_min", "elements differ"),
    # CosineAnnealingLR past T_max follows the cosine back up, it does not stay at eta_min
    "annealing_clamped": ("restarts_t0_10_1000", "annealing_past_t_max", "first at (51,)"),
    # torch's recursion needs its additive step where the ratio is 0/0
    "recursion_without_bottom_step": (
        "counter_mult_2",
        "annealing_counter_t_max_7",
        "first at (8,)",
    ),
    "float32": ("no_epochs", "restarts_t0_10_1000", "finite values off"),
    "restarts_every_256": ("log_rounding_mult_3", "restarts_fractional", "first at (256,)"),
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


def test_an_output_written_into_the_epochs_is_caught() -> None:
    v = verdict(schedule_with("written_into_epochs"), "restarts_t0_10_1000")
    assert v.status == "fail" and "modified its input(s) ['epochs']" in v.detail


def test_each_restart_gives_base_lr_and_one_ulp_before_it_nearly_eta_min() -> None:
    case = SUITE.find_case("restarts_boundaries_mult_1")
    assert isinstance(case, Case)
    epochs = case_inputs(SUITE, case)["epochs"]
    lrs = lr_cosine_warm_restarts(epochs, CosineOptions(**case.options))
    before, at, after = lrs[1::3], lrs[2::3], lrs[3::3]
    assert np.all(at == 0.1) and np.all(after > 0.1 - 1e-15) and np.all(before < 1e-15)


def test_recursion_and_closed_form_differ_in_the_last_bits_but_within_tolerance() -> None:
    """torch's recursive CosineAnnealingLR drifts from the closed form; 1e-12 bounds it."""
    case = SUITE.find_case("annealing_counter_1000")
    assert isinstance(case, Case)
    opts = CosineOptions(**case.options)
    recursive = np.asarray(recursive_annealing(1000, opts))
    closed = lr_cosine_warm_restarts(
        np.arange(1000.0), CosineOptions(**{**case.options, "stepping": "epoch"})
    )
    diff = np.abs(recursive - closed)
    tol = tolerance(case)
    assert diff.max() > 0
    assert np.all(diff <= tol.atol + tol.rtol * np.abs(closed))


def test_options_refuse_what_torch_refuses() -> None:
    torch = pytest.importorskip("torch")
    for bad in SUITE.invalid_options:
        with pytest.raises(ValueError):
            CosineOptions(**bad)
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    for t_0, t_mult in ((0, 1), (2.5, 1), (10, 0), (10, 1.5)):
        with pytest.raises(ValueError, match="Expected"):
            torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, t_0, t_mult)


def test_fuzz_cases_build_and_a_correct_schedule_agrees() -> None:
    """Ten fuzz draws (hypothesis seed 0, not tuned): the strategy makes valid cases."""
    from harness.fuzz import fuzz

    impl = Implementation("lr_cosine_warm_restarts", "numpy", "t", schedule_with())
    outcome = fuzz(SUITE, impl, 10, seed=0)
    assert outcome.ok, outcome.verdict
