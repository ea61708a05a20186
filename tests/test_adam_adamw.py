"""Pitfalls of Adam / AdamW that the adam_adamw suite must catch.

Each test runs a deliberately wrong NumPy variant through ``verify`` on the case that exposes
the mistake and asserts the verdict fails with a diagnosis that names what differs; the same
variant with no mistake passes those cases. The cases' seeds are the suite's defaults (chosen
before any of these tests existed, not tuned to them).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.spec import Case
from harness.verify import Verdict, verify
from suites.adam_adamw import SUITE, AdamOptions, check, coefficients


@dataclass(frozen=True)
class Mistakes:
    """What the variant gets wrong; all False is a correct (if slow) implementation."""

    no_bias_correction: bool = False
    coupled_adamw: bool = False  # AdamW's decay added to the gradient instead of p *= 1 - lr*wd
    eps_inside_sqrt: bool = False
    step_not_incremented_first: bool = False  # bias correction with t instead of t + 1
    amsgrad_max_of_v_hat: bool = False
    hidden_counter: bool = False  # counts steps itself across calls, ignoring `step`
    float32_state: bool = False  # moments rebound to float32 copies
    float32_arithmetic: bool = False
    square_in_float32: bool = False  # g*g in float32 (a mixed-precision kernel)
    skip_zero_gradients: bool = False  # a zero gradient treated as a missing one
    flattened_state: bool = False  # params rebound to 1-D copies
    decay_into_grads: bool = False  # coupled decay written into the caller's gradient buffer
    tensor_chunk: int = 0  # > 0: only the first `tensor_chunk` parameters are updated
    ignore_maximize: bool = False
    torch_placement_always: bool = False
    first_lr_only: bool = False
    first_counter_only: bool = False
    step_not_written: bool = False  # the counters left as they came
    alias_exp_avg_to_grads: bool = False  # exp_avg[i] rebound to a view of the last gradient


def variant(mistakes: Mistakes) -> Callable[..., None]:
    hidden = {"t": 0}

    def adam(params: Any, grads: Any, lrs: Any, exp_avg: Any, exp_avg_sq: Any,
        max_exp_avg_sq: Any, step: Any, opts: AdamOptions) -> None:  # fmt: skip
        steps = check(params, grads, lrs, exp_avg, exp_avg_sq, max_exp_avg_sq, step)
        b1, b2, wd = opts.beta1, opts.beta2, opts.weight_decay
        work = np.float32 if mistakes.float32_arithmetic else None
        count = mistakes.tensor_chunk or len(params)
        for k in range(steps):
            lr = float(lrs[0] if mistakes.first_lr_only else lrs[k])
            for i in range(min(count, len(params))):
                start = hidden["t"] if mistakes.hidden_counter else int(step[i])
                start = int(step[0]) if mistakes.first_counter_only else start
                t = start + k + (0 if mistakes.step_not_incremented_first else 1)
                p, m, v, v_max = (
                    x[i].astype(work or x[i].dtype)
                    for x in (params, exp_avg, exp_avg_sq, max_exp_avg_sq)
                )
                g = grads[i][k].astype(work or p.dtype)
                if mistakes.skip_zero_gradients and not np.any(g):
                    continue
                if opts.maximize and not mistakes.ignore_maximize:
                    g = -g
                if wd and opts.decoupled and not mistakes.coupled_adamw:
                    p = p * (1 - lr * wd)
                elif wd and mistakes.decay_into_grads:
                    grads[i][k] += wd * params[i]
                    g = grads[i][k]
                elif wd:
                    g = g + wd * p
                m = b1 * m + (1 - b1) * g
                square = (
                    (g.astype(np.float32) ** 2).astype(g.dtype)
                    if mistakes.square_in_float32
                    else g * g
                )
                v = b2 * v + (1 - b2) * square
                bc1 = 1.0 if mistakes.no_bias_correction else 1 - b1**t
                bc2 = 1.0 if mistakes.no_bias_correction else 1 - b2**t
                second = v
                if opts.amsgrad and mistakes.amsgrad_max_of_v_hat:
                    v_max = np.maximum(v_max, v / bc2)
                    second = v_max * bc2
                elif opts.amsgrad:
                    v_max = np.maximum(v_max, v)
                    second = v_max
                with np.errstate(divide="ignore", invalid="ignore"):
                    if opts.eps_placement == "tf" and not mistakes.torch_placement_always:
                        p = p - lr * math.sqrt(bc2) / bc1 * m / (np.sqrt(second) + opts.eps)
                    elif mistakes.eps_inside_sqrt:
                        p = p - lr * (m / bc1) / np.sqrt(second / bc2 + opts.eps)
                    else:
                        p = p - lr * (m / bc1) / (np.sqrt(second / bc2) + opts.eps)
                for x, value in zip(
                    (params, exp_avg, exp_avg_sq, max_exp_avg_sq), (p, m, v, v_max), strict=True
                ):
                    x[i][...] = value
        hidden["t"] += steps
        if not mistakes.step_not_written:
            step += steps
        for i in range(len(params)):
            if mistakes.float32_state:
                exp_avg[i] = exp_avg[i].astype(np.float32)
            if mistakes.flattened_state:
                params[i] = params[i].reshape(-1).copy()
            if mistakes.alias_exp_avg_to_grads:  # right values when beta1 = 0: m is g
                exp_avg[i] = grads[i][steps - 1]

    return adam


def run(case: str, **mistakes: Any) -> Verdict:
    impl = Implementation("adam_adamw", "numpy", "pitfall", variant(Mistakes(**mistakes)))
    found = SUITE.find_case(case)
    assert isinstance(found, Case)
    return verify(SUITE, impl, found)


CORRECT_ON = [
    "adam_fresh_f64",
    "adamw_resumed_f64",
    "amsgrad_resumed_f64",
    "eps_tf_f64",
    "tiny_gradients_f64",
    "huge_gradients_f64",
    "zero_gradients_resumed_adamw_f64",
    "zero_size_params",
    "per_parameter_steps_f64",
    "lr_step_schedule_f64",
    "long_run_f32",
]


@pytest.mark.parametrize("case", CORRECT_ON)
def test_the_variant_without_mistakes_passes(case: str) -> None:
    v = run(case)
    assert v.status == "pass", v.detail


# (mistake, the case that exposes it, text the diagnosis must contain)
PITFALLS = [
    # bias correction matters most early: step 1 divides m by 0.1 and v by 0.001
    ("no_bias_correction", "adam_fresh_f64", "output 'params'"),
    ("coupled_adamw", "adamw_resumed_f64", "output 'params'"),
    # sqrt(v_hat) ~ 1e-9 there: sqrt(v_hat + eps) = 1e-4 shrinks the step 1e4-fold
    ("eps_inside_sqrt", "tiny_gradients_f64", "output 'params'"),
    # from step 0, 1 - beta^0 = 0 divides by zero; from step 40 the correction is 2 % off
    ("step_not_incremented_first", "adam_fresh_f32", "NaN where the oracle has a number"),
    ("step_not_incremented_first", "adamw_resumed_f64", "output 'params'"),
    ("amsgrad_max_of_v_hat", "amsgrad_resumed_f64", "output 'max_exp_avg_sq'"),
    ("hidden_counter", "adam_fresh_f64", "stopping after 3 of 6 steps and resuming"),
    # float32 copies swapped in: caught as a rebinding before the dtype is even read
    ("float32_state", "adam_fresh_f64", "state 'exp_avg'[0] was rebound"),
    ("float32_arithmetic", "adamw_resumed_f64", "elements differ"),
    # |g| ~ 1e151: g*g overflows float32, v becomes inf and the update 0
    ("square_in_float32", "huge_gradients_f64", "infinite values that differ"),
    # a zero gradient still moves m, v and, through m, p (torch only skips a missing one)
    ("skip_zero_gradients", "zero_gradients_resumed_adamw_f64", "output 'params'"),
    ("flattened_state", "zero_size_params", "state 'params'[0] was rebound"),
    ("decay_into_grads", "adam_l2_decay_resumed_f64", "modified its input(s) ['grads']"),
    # a 256-tensor chunk with the tail dropped: only the 258-tensor case sees it
    ("tensor_chunk", "multi_block", "[256]"),
    ("ignore_maximize", "maximize_adamw_f64", "output 'params'"),
    ("torch_placement_always", "eps_tf_f64", "output 'params'"),
    ("first_lr_only", "lr_step_schedule_f64", "output 'params'"),
    ("first_counter_only", "per_parameter_steps_f64", "output 'params'"),
    ("step_not_written", "adam_fresh_f32", "output 'step': 4/4 values differ"),
]


@pytest.mark.parametrize(("mistake", "case", "diagnosis"), PITFALLS)
def test_the_suite_catches(mistake: str, case: str, diagnosis: str) -> None:
    v = run(case, **{mistake: 256 if mistake == "tensor_chunk" else True})
    assert v.status in ("fail", "error"), f"{mistake} passed {case}"
    assert diagnosis in v.detail, v.detail


def test_state_aliasing_a_gradient_is_caught() -> None:
    """With beta1 = 0, m equals the last gradient: a view of the caller's gradient has the
    right values, but the next backward pass would overwrite the optimizer's state."""
    v = run("betas_0_0_f32", alias_exp_avg_to_grads=True)
    assert v.status == "fail", v.detail
    assert "state 'exp_avg'[0] was rebound" in v.detail, v.detail
    assert "state 'exp_avg' shares memory with input 'grads'" in v.detail, v.detail


def test_a_tiled_mistake_passes_below_its_first_block() -> None:
    """The 256-tensor chunk is only wrong past the first chunk: multi_block is needed."""
    assert run("adam_fresh_f32", tensor_chunk=256).status == "pass"


def test_placements_agree_when_eps_is_zero() -> None:
    """eps_hat = eps*sqrt(1 - beta2^t) and eps are both 0: the two forms are one update."""
    base = SUITE.find_case("eps_0_f64")
    assert isinstance(base, Case)
    tf = replace(base, options={**base.options, "eps_placement": "tf"})
    inputs = SUITE.make_inputs(base)
    a = SUITE.run_oracle(inputs, base)
    b = SUITE.run_oracle(inputs, tf)
    for x, y in zip(a[0], b[0], strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-12)


def test_coefficients_follow_the_definition() -> None:
    opts = AdamOptions()
    step_size, eps_hat = coefficients(1, 1e-3, opts)
    # step 1: m_hat = m/0.1, sqrt(v_hat) = sqrt(v)/sqrt(0.001)
    assert step_size == pytest.approx(1e-3 * math.sqrt(1e-3) / 0.1, rel=1e-12)
    assert eps_hat == pytest.approx(1e-8 * math.sqrt(1e-3), rel=1e-12)
    tf = AdamOptions(eps_placement="tf")
    assert coefficients(1, 1e-3, tf) == (step_size, 1e-8)
