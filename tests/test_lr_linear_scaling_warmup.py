"""lr_linear_scaling_warmup: the classic mistakes of scaled lrs with a linear warmup (an
off-by-one at either end of the ramp, the main schedule not restarted at the switch, the
scaling rule inverted or square-rooted, an epoch warmup ramped per iteration...) are each
caught by the suite, and a correct schedule passes."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.spec import Case
from harness.verify import Verdict, case_inputs, verify
from suites.lr_linear_scaling_warmup import (
    ARGS,
    SUITE,
    WarmupOptions,
    lr_linear_scaling_warmup,
    tolerance,
)

Schedule = Callable[[Any, WarmupOptions], Any]


def schedule_with(mistake: str = "") -> Schedule:
    """A NumPy-world schedule with at most one deliberate mistake (``""``: correct)."""

    def run(main: Any, opts: WarmupOptions) -> Any:
        ARGS.check(main)
        dtype = np.float32 if mistake == "float32" else np.float64
        ratio = opts.batch / opts.base_batch
        if mistake == "scaling_inverted":
            ratio = 1 / ratio
        elif mistake == "sqrt_scaling":
            ratio = math.sqrt(ratio)
        lr = dtype(opts.base_lr) * dtype(ratio)
        w, f = opts.warmup, dtype(opts.start_factor)
        hold = opts.iters_per_epoch if opts.unit == "epoch" else 1
        per_iteration = mistake == "epoch_ramped_per_iteration" and hold > 1
        n = main.shape[0] * hold
        out = np.empty(n, dtype=dtype)
        for i in range(n):
            s = i // hold
            index = i % 256 if mistake == "restarts_every_256" else i
            ramp_at = index / hold if per_iteration else index // hold
            in_ramp = s <= w if mistake == "ramp_through_w" else s < w
            if in_ramp and w > 0:
                k = ramp_at + 1 if mistake == "ramp_after_step" else ramp_at
                denom = w - 1 if mistake == "reaches_lr_at_w_minus_1" and w > 1 else w
                out[i] = lr * (f + (1 - f) * dtype(k) / dtype(denom))
            else:
                k = s if mistake == "main_not_restarted" else s - w
                k = k - 1 if mistake == "ramp_through_w" and w > 0 else k
                out[i] = lr * dtype(main[min(k, main.shape[0] - 1)])
        out = out.astype(np.float64)  # "float32": computed in float32, returned as float64
        if mistake == "empty_as_one" and out.size == 0:
            return np.zeros(1)
        if mistake == "written_into_main" and out.shape == main.shape:
            main[...] = out  # reuses the caller's array as its output buffer
            return main
        return out

    return run


def verdict(fn: Schedule, case_name: str) -> Verdict:
    impl = Implementation("lr_linear_scaling_warmup", "numpy", "under_test", fn)
    return verify(SUITE, impl, SUITE.find_case(case_name))


def test_a_correct_schedule_passes_every_case() -> None:
    for case in SUITE.cases:
        v = verdict(schedule_with(), case.name)
        assert v.status == "pass", (case.name, v.detail)


# mistake -> (a case it passes, a case it fails, words the diagnosis contains)
MISTAKES = {
    # the lr after step() instead of the lr in effect: f is never used, lr reached at w - 1
    "ramp_after_step": ("no_warmup", "default_warmup_5", "first at (0,)"),
    # the ramp's end value lr at s = w, the main schedule one step late
    "ramp_through_w": ("no_warmup", "default_warmup_5", "first at (5,)"),
    "reaches_lr_at_w_minus_1": ("warmup_1", "default_warmup_5", "first at (1,)"),
    # LambdaLR-style overlay: main indexed by the global step, not restarted at the switch
    "main_not_restarted": ("no_warmup", "default_warmup_5", "first at (5,)"),
    "scaling_inverted": ("default_warmup_5", "goyal_8k_500", "first at (0,)"),
    "sqrt_scaling": ("default_warmup_5", "batch_below_base", "first at (0,)"),
    # a per-epoch warmup ramped per iteration: the lr moves inside the first epochs
    "epoch_ramped_per_iteration": ("default_warmup_5", "epoch_warmup", "first at (1,)"),
    "float32": ("no_steps", "goyal_8k_500", "finite values off"),
    "restarts_every_256": ("default_warmup_5", "goyal_8k_500", "first at (256,)"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_each_classic_mistake_is_caught_where_it_matters(mistake: str) -> None:
    passes, fails, words = MISTAKES[mistake]
    assert verdict(schedule_with(mistake), passes).status == "pass", f"{mistake} on {passes}"
    v = verdict(schedule_with(mistake), fails)
    assert v.status == "fail" and words in v.detail, (mistake, v.status, v.detail)


def test_an_empty_sequence_of_the_wrong_shape_is_caught() -> None:
    v = verdict(schedule_with("empty_as_one"), "no_steps")
    assert v.status == "fail" and "has shape (1,), expected (0,)" in v.detail


def test_an_output_written_into_main_is_caught() -> None:
    v = verdict(schedule_with("written_into_main"), "default_warmup_5")
    assert v.status == "fail" and "modified its input(s) ['main']" in v.detail


def test_the_ramp_starts_at_f_and_the_switch_is_exactly_at_w() -> None:
    case = SUITE.find_case("goyal_8k_500")
    assert isinstance(case, Case)
    main = case_inputs(SUITE, case)["main"]
    lrs = lr_linear_scaling_warmup(main, WarmupOptions(**case.options))
    lr = 0.1 * 8192 / 256
    assert lrs[0] == pytest.approx(lr / 3) and lrs[499] < lr
    assert lrs[500] == lr * main[0] and lrs[501] == lr * main[1]


def test_linear_lr_product_differs_in_the_last_bits_but_within_tolerance() -> None:
    """torch's LinearLR multiplies ratios; the closed form differs by a few ulps."""
    torch = pytest.importorskip("torch")
    case = SUITE.find_case("goyal_8k_500")
    assert isinstance(case, Case)
    opts = WarmupOptions(**case.options)
    lr = opts.base_lr * opts.batch / opts.base_batch
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    ramp = torch.optim.lr_scheduler.LinearLR(optimizer, opts.start_factor, 1.0, opts.warmup)
    chained = []
    for _ in range(opts.warmup):
        chained.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        ramp.step()
    closed = lr_linear_scaling_warmup(np.ones(opts.warmup), opts)
    rel = np.abs(np.asarray(chained) - closed) / closed
    assert rel.max() > 0 and rel.max() <= tolerance(case).rtol


def test_options_refuse_what_torch_refuses() -> None:
    torch = pytest.importorskip("torch")
    for bad in SUITE.invalid_options:
        with pytest.raises(ValueError):
            WarmupOptions(**bad)
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    for f in (0.0, 1.5):
        with pytest.raises(ValueError, match="Starting multiplicative factor"):
            torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=f)


def test_fuzz_cases_build_and_a_correct_schedule_agrees() -> None:
    """Ten fuzz draws (hypothesis seed 0, not tuned): the strategy makes valid cases."""
    from harness.fuzz import fuzz

    impl = Implementation("lr_linear_scaling_warmup", "numpy", "t", schedule_with())
    outcome = fuzz(SUITE, impl, 10, seed=0)
    assert outcome.ok, outcome.verdict
