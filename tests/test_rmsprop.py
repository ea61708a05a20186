"""Pitfalls of RMSprop that the rmsprop suite must catch.

Each test runs a deliberately wrong NumPy variant through ``verify`` on the case that exposes
the mistake and asserts the verdict fails with a diagnosis that names what differs; the same
variant with no mistake passes those cases. The cases' seeds are the suite's defaults (chosen
before any of these tests existed, not tuned to them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.spec import Case
from harness.verify import Verdict, verify
from suites.rmsprop import SUITE, RmspropOptions, check, group_options


@dataclass(frozen=True)
class Mistakes:
    """What the variant gets wrong; all False is a correct (if slow) implementation."""

    eps_inside_sqrt: bool = False  # torch form with sqrt(v + eps)
    centered_without_mean_square: bool = False  # centred denominator sqrt(v), gbar^2 not taken
    momentum_before_division: bool = False  # buf = mu*buf + g, p -= lr*buf/d
    lr_into_buffer: bool = False  # tf1's buf = mu*buf + lr*g/d under the torch convention
    torch_form_always: bool = False  # the convention flag ignored
    alpha_swapped: bool = False  # v = (1 - alpha)*v + alpha*g^2
    ignore_maximize: bool = False
    decay_into_grads: bool = False  # g += wd*p written into the caller's gradient buffer
    float32_arithmetic: bool = False
    float32_variance: bool = False  # v - gbar^2 formed in float32 (a mixed-precision kernel)
    grad_avg_always: bool = False  # the running mean updated even when not centred
    step_tile: int = 0  # > 0: only the first `step_tile` steps are applied
    step_not_written: bool = False
    flattened_state: bool = False  # params rebound to 1-D copies
    alias_buffer_to_grads: bool = False  # momentum_buffer[i] rebound to a view of a gradient
    first_group_only: bool = False  # group 0's settings and lrs applied to every group


def variant(mistakes: Mistakes) -> Callable[..., None]:
    def rmsprop(params: Any, grads: Any, lrs: Any, square_avg: Any, grad_avg: Any,
        momentum_buffer: Any, step: Any, group: Any, hyper: Any, centered: Any,
        opts: RmspropOptions) -> None:  # fmt: skip
        steps = check(params, grads, lrs, square_avg, grad_avg, momentum_buffer, step, group,
                      hyper, centered)  # fmt: skip
        settings = group_options(opts, hyper, centered)
        tf1 = opts.convention == "tf1" and not mistakes.torch_form_always
        work = np.float32 if mistakes.float32_arithmetic else None
        for i in range(len(params)):
            j = 0 if mistakes.first_group_only else int(group[i])
            o = settings[j]
            a, mu, wd = o.alpha, o.momentum, o.weight_decay
            if mistakes.alpha_swapped:
                a = 1.0 - a
            p, v, gbar, buf = (
                x[i].astype(work or x[i].dtype)
                for x in (params, square_avg, grad_avg, momentum_buffer)
            )
            for k in range(min(steps, mistakes.step_tile or steps)):
                lr = float(lrs[k, j])
                g = grads[i][k].astype(work or p.dtype)
                if opts.maximize and not mistakes.ignore_maximize:
                    g = -g
                if wd and mistakes.decay_into_grads:
                    grads[i][k] += wd * params[i]
                    g = grads[i][k]
                elif wd:
                    g = g + wd * p
                v = a * v + (1 - a) * g * g
                var = v
                if o.centered or mistakes.grad_avg_always:
                    gbar = a * gbar + (1 - a) * g
                if o.centered and not mistakes.centered_without_mean_square:
                    var = v - gbar * gbar
                    if mistakes.float32_variance:
                        var = (v.astype(np.float32) - (gbar * gbar).astype(np.float32)).astype(
                            v.dtype
                        )
                with np.errstate(divide="ignore", invalid="ignore"):
                    inside = tf1 or mistakes.eps_inside_sqrt
                    d = np.sqrt(var + o.eps) if inside else np.sqrt(var) + o.eps
                    if mu > 0 and mistakes.momentum_before_division:
                        buf = mu * buf + g
                        p = p - lr * buf / d
                    elif mu > 0 and (tf1 or mistakes.lr_into_buffer):
                        buf = mu * buf + lr * g / d
                        p = p - buf
                    elif mu > 0:
                        buf = mu * buf + g / d
                        p = p - lr * buf
                    else:
                        p = p - lr * g / d
            for x, value in zip(
                (params, square_avg, grad_avg, momentum_buffer), (p, v, gbar, buf), strict=True
            ):
                x[i][...] = value
            if mistakes.flattened_state:
                params[i] = params[i].reshape(-1).copy()
            if mistakes.alias_buffer_to_grads and steps:
                momentum_buffer[i] = grads[i][steps - 1]
        if not mistakes.step_not_written:
            step += steps

    return rmsprop


def run(case: str, **mistakes: Any) -> Verdict:
    impl = Implementation("rmsprop", "numpy", "pitfall", variant(Mistakes(**mistakes)))
    found = SUITE.find_case(case)
    assert isinstance(found, Case)
    return verify(SUITE, impl, found)


CORRECT_ON = [
    "fresh_f64",
    "centered_f64",
    "momentum_f64",
    "momentum_lr_step_f64",
    "tf1_momentum_lr_step_f64",
    "tiny_gradients_f64",
    "weight_decay_f64",
    "maximize_centered_f64",
    "centered_v_near_gbar_sq_f64",
    "zero_size_params",
    "multi_block",
    "groups_f64",
    "three_groups_lr_random_f32",
    "tf1_groups_f64",
    "empty_group",
]


@pytest.mark.parametrize("case", CORRECT_ON)
def test_the_variant_without_mistakes_passes(case: str) -> None:
    v = run(case)
    assert v.status == "pass", v.detail


# (mistake, the case that exposes it, text the diagnosis must contain)
PITFALLS = [
    # sqrt(v) ~ 1e-9 there: sqrt(v + 1e-8) = 1e-4 shrinks the step 1e5-fold
    ("eps_inside_sqrt", "tiny_gradients_f64", "output 'params'"),
    # sqrt(v) >= sqrt(v - gbar^2): the step shrinks wherever the gradients have a mean
    ("centered_without_mean_square", "centered_f64", "output 'params'"),
    # the buffer then holds raw gradients, not normalised steps
    ("momentum_before_division", "momentum_f64", "output 'momentum_buffer'"),
    # after the lr drops 10x, torch scales the old buffer too; tf1's form does not
    ("lr_into_buffer", "momentum_lr_step_f64", "output 'params'"),
    ("torch_form_always", "tf1_momentum_lr_step_f64", "output 'params'"),
    ("alpha_swapped", "fresh_f64", "output 'square_avg'"),
    ("ignore_maximize", "maximize_centered_f64", "output 'params'"),
    ("decay_into_grads", "weight_decay_f64", "modified its input(s) ['grads']"),
    ("float32_arithmetic", "fresh_f64", "elements differ"),
    # v - gbar^2 is 1e-6 of v there: float32 keeps one digit of it
    ("float32_variance", "centered_v_near_gbar_sq_f64", "output 'params'"),
    ("grad_avg_always", "fresh_f64", "output 'grad_avg'"),
    # a 256-step tile with the rest dropped: only the 300-step case sees it
    ("step_tile", "multi_block", "output 'params'"),
    ("step_not_written", "fresh_f32", "output 'step': 4/4 values differ"),
    ("flattened_state", "zero_size_params", "state 'params'[0] was rebound"),
    # group 0's settings and lrs for every parameter: group 1's parameters go wrong
    ("first_group_only", "groups_f64", "output 'params'"),
    ("first_group_only", "three_groups_lr_random_f32", "output 'params'"),
    ("first_group_only", "tf1_groups_f64", "output 'params'"),
]


@pytest.mark.parametrize(("mistake", "case", "diagnosis"), PITFALLS)
def test_the_suite_catches(mistake: str, case: str, diagnosis: str) -> None:
    v = run(case, **{mistake: 256 if mistake == "step_tile" else True})
    assert v.status in ("fail", "error"), f"{mistake} passed {case}"
    assert diagnosis in v.detail, v.detail


def test_a_tiled_mistake_passes_below_its_first_block() -> None:
    """The 256-step tile is only wrong past the first tile: multi_block is needed."""
    assert run("long_run_f32", step_tile=256).status == "pass"


def test_state_aliasing_a_gradient_is_caught() -> None:
    """alpha = 0 with momentum: a view of the caller's gradient as the buffer is caught by
    identity and shared memory, whatever its values."""
    v = run("alpha_0_momentum_f32", alias_buffer_to_grads=True)
    assert v.status == "fail", v.detail
    assert "state 'momentum_buffer'[0] was rebound" in v.detail, v.detail
    assert "shares memory with input 'grads'" in v.detail, v.detail


def test_the_oracle_follows_torch() -> None:
    """The oracle against torch.optim.RMSprop in float64 on a resumed centred momentum case
    with weight decay and a changing lr (the library cell does this too; here it is direct)."""
    torch = pytest.importorskip("torch")
    found = SUITE.find_case("centered_momentum_decay_resumed_f64")
    assert isinstance(found, Case)
    inputs = SUITE.make_inputs(found)
    opts = RmspropOptions.build(found.options)
    expected = SUITE.run_oracle(inputs, found)
    params = [torch.tensor(p) for p in inputs["params"]]
    opt = torch.optim.RMSprop(params, lr=0.0, alpha=opts.alpha, eps=opts.eps,
        weight_decay=opts.weight_decay, momentum=opts.momentum, centered=True)  # fmt: skip
    for i, p in enumerate(params):
        opt.state[p] = {
            "step": torch.tensor(float(inputs["step"][i])),
            "square_avg": torch.tensor(inputs["square_avg"][i]),
            "grad_avg": torch.tensor(inputs["grad_avg"][i]),
            "momentum_buffer": torch.tensor(inputs["momentum_buffer"][i]),
        }
    for k, lr in enumerate(inputs["lrs"][:, 0].tolist()):
        opt.param_groups[0]["lr"] = lr
        for p, g in zip(params, inputs["grads"], strict=True):
            p.grad = torch.tensor(g[k])
        opt.step()
    for p, want in zip(params, expected[0], strict=True):
        np.testing.assert_allclose(p.detach().numpy(), want, rtol=1e-12, atol=1e-14)


def test_the_oracle_follows_torch_param_groups() -> None:
    """The oracle against torch.optim.RMSprop with one param_group per group (each its own
    lr, alpha, eps, weight_decay, momentum, centered), float64, resumed parameters."""
    torch = pytest.importorskip("torch")
    found = SUITE.find_case("groups_f64")
    assert isinstance(found, Case)
    inputs = SUITE.make_inputs(found)
    opts = RmspropOptions.build(found.options)
    settings = group_options(opts, inputs["hyper"], inputs["centered"])
    expected = SUITE.run_oracle(inputs, found)
    params = [torch.tensor(p) for p in inputs["params"]]
    members = inputs["group"].tolist()
    assert len(set(members)) == 2
    opt = torch.optim.RMSprop([
        {"params": [p for p, m in zip(params, members, strict=True) if m == j], "alpha": o.alpha,
         "eps": o.eps, "weight_decay": o.weight_decay, "momentum": o.momentum,
         "centered": o.centered}
        for j, o in enumerate(settings)
    ], lr=0.0)  # fmt: skip
    for i, p in enumerate(params):
        opt.state[p] = {
            "step": torch.tensor(float(inputs["step"][i])),
            "square_avg": torch.tensor(inputs["square_avg"][i]),
            "grad_avg": torch.tensor(inputs["grad_avg"][i]),
            "momentum_buffer": torch.tensor(inputs["momentum_buffer"][i]),
        }
    for k, rates in enumerate(inputs["lrs"].tolist()):
        for group, lr in zip(opt.param_groups, rates, strict=True):
            group["lr"] = lr
        for p, g in zip(params, inputs["grads"], strict=True):
            p.grad = torch.tensor(g[k])
        opt.step()
    for p, want in zip(params, expected[0], strict=True):
        np.testing.assert_allclose(p.detach().numpy(), want, rtol=1e-12, atol=1e-14)
