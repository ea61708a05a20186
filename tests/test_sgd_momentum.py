"""sgd_momentum: the classic mistakes of an SGD-with-momentum step are each caught by the suite,
with a diagnosis that names what differs; a correct step-by-step update passes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation, load_registry
from harness.spec import Case
from harness.verify import Verdict, case_inputs, verify
from suites.sgd_momentum import SUITE, SgdOptions, check_sgd

Step = Callable[..., None]


def sgd_with(mistake: str = "") -> Step:
    """A step-by-step NumPy SGD with at most one deliberate mistake (``""``: correct)."""

    def run(params: Any, grads: Any, has_grad: Any, lrs: Any, momentum_buffers: Any,
        steps_done: Any, opts: SgdOptions) -> None:  # fmt: skip
        t, n = check_sgd(params, grads, has_grad, lrs, momentum_buffers, steps_done)
        mu, tau, wd = opts.momentum, opts.dampening, opts.weight_decay
        dtype = np.float32 if mistake == "float32" else params[0].dtype if n else np.float64
        for i in range(n):
            p, buf = params[i].astype(dtype), momentum_buffers[i].astype(dtype)
            velocity = -float(lrs[0]) * buf if t else buf  # "classical": v = -lr * buf
            started = steps_done[i] > 0
            for step in range(t):
                lr = float(lrs[step])
                if not has_grad[step, i] and mistake != "missing_as_zero":
                    continue
                g = grads[i][step].astype(dtype) if has_grad[step, i] else np.zeros_like(p)
                if opts.maximize and mistake != "maximize_ignored":
                    g = -g
                if wd != 0 and mistake != "decay_after_momentum":
                    g = g + wd * p
                first = (step == 0) if mistake == "hidden_counter" else not started
                if mistake == "ignores_marker":
                    first = False
                if mu != 0:
                    if mistake == "classical":
                        velocity = mu * velocity - lr * (g if first else (1 - tau) * g)
                        p = p + velocity
                        buf = velocity / -lr if lr else buf
                        started = True
                        steps_done[i] += 1
                        continue
                    if first and mistake == "zero_init":
                        buf = mu * np.zeros_like(g) + (1 - tau) * g
                    elif first and mistake == "damped_first":
                        buf = (1 - tau) * g
                    elif first:
                        buf = g.copy()
                    else:
                        buf = mu * buf + (1 - tau) * g
                    nesterov = opts.nesterov and mistake != "nesterov_uses_buf"
                    g = g + mu * buf if nesterov else buf
                if mistake == "decay_after_momentum" and wd != 0:
                    g = g + wd * p
                p = p - lr * g
                started = True
                if mistake != "no_counter":
                    steps_done[i] += 1
            if mistake == "first_block_only":  # a blocked kernel that stops after block 0
                block = min(p.size, 2048)
                params[i].reshape(-1)[:block] = p.reshape(-1)[:block]
            else:
                params[i][...] = p
            momentum_buffers[i][...] = buf

    return run


def verdict(fn: Step, case_name: str, backend: str = "numpy") -> Verdict:
    impl = Implementation("sgd_momentum", backend, "under_test", fn)
    return verify(SUITE, impl, SUITE.find_case(case_name))


def test_a_correct_step_by_step_update_passes_every_kind_of_case() -> None:
    for name in ("fresh_f64", "lr_step_change_f64", "resumed_state_f64", "everything_f64",
                 "multi_block", "stale_buffers_f64", "empty_param", "no_params"):  # fmt: skip
        v = verdict(sgd_with(), name)
        assert v.status == "pass", (name, v.detail)


# mistake -> (a case it passes, a case it fails, words the diagnosis contains)
MISTAKES = {
    # v <- mu*v - lr*g, p <- p + v: torch's update while the lr stays put, not after a change
    "classical": ("constant_lr_f64", "lr_step_change_f64", "output 'params'"),
    # buf <- mu*0 + (1 - dampening)*g on the first step instead of buf <- g
    "zero_init": ("fresh_f64", "dampening_f64", "output 'momentum_buffers'"),
    "damped_first": ("nesterov_f64", "dampening_f64", "output 'params'"),
    # the buffer's old contents used although steps_done says there is no buffer yet
    "ignores_marker": ("resumed_state_f64", "stale_buffers_f64", "output 'params'"),
    "decay_after_momentum": ("fresh_f64", "weight_decay_f64", "output 'params'"),
    "nesterov_uses_buf": ("fresh_f64", "nesterov_f64", "output 'params'"),
    "maximize_ignored": ("fresh_f64", "maximize_f64", "output 'params'"),
    "missing_as_zero": ("fresh_f64", "missing_grads_f64", "output 'params'"),
    "no_counter": ("zero_steps", "fresh_f64", "output 'steps_done'"),
    "float32": ("fresh_f32", "fresh_f64", "finite values off"),
    "first_block_only": ("fresh_f32", "multi_block", "output 'params'"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_each_classic_mistake_is_caught_where_it_matters(mistake: str) -> None:
    passes, fails, words = MISTAKES[mistake]
    assert verdict(sgd_with(mistake), passes).status == "pass", f"{mistake} on {passes}"
    v = verdict(sgd_with(mistake), fails)
    assert v.status == "fail" and words in v.detail, (mistake, v.status, v.detail)


def test_a_first_step_read_from_the_loop_index_fails_the_resume_check() -> None:
    """Fresh state and every output right, but the buffer is re-created on each call's first
    step: running 6 steps, saving and running 6 more is not the 12-step run."""
    v = verdict(sgd_with("hidden_counter"), "fresh_f64")
    assert v.status == "fail"
    assert "stopping after 6 of 12 steps and resuming" in v.detail
    assert "momentum_buffers" in v.detail or "params" in v.detail


def test_a_buffer_that_aliases_the_gradient_writes_into_the_input() -> None:
    """buf <- g without a copy (torch clones): the next in-place buffer update scribbles on
    the caller's gradients."""

    def aliased(params: Any, grads: Any, has_grad: Any, lrs: Any, momentum_buffers: Any,
        steps_done: Any, opts: SgdOptions) -> None:  # fmt: skip
        t, n = check_sgd(params, grads, has_grad, lrs, momentum_buffers, steps_done)
        for i in range(n):
            buf = momentum_buffers[i]
            for step in range(t):
                if steps_done[i] == 0:
                    buf = grads[i][step]  # a view into grads
                else:
                    buf *= opts.momentum
                    buf += grads[i][step]
                params[i] -= float(lrs[step]) * buf
                steps_done[i] += 1
            momentum_buffers[i][...] = buf

    v = verdict(aliased, "fresh_f64")
    assert v.status == "fail" and "modified its input(s) ['grads']" in v.detail


def test_an_empty_parameter_of_the_wrong_shape_is_caught() -> None:
    def flattens(params: Any, grads: Any, has_grad: Any, lrs: Any, momentum_buffers: Any,
        steps_done: Any, opts: SgdOptions) -> None:  # fmt: skip
        sgd_with()(params, grads, has_grad, lrs, momentum_buffers, steps_done, opts)
        for i, p in enumerate(params):
            if p.size == 0:
                params[i] = p.reshape(-1)  # a (0, 3) parameter comes back as (0,)

    v = verdict(flattens, "empty_param")
    # a reshaped copy is a new array: caught as state not updated in place
    assert v.status == "fail" and "was rebound to another array" in v.detail, v.detail


def test_the_oracle_matches_a_direct_torch_optim_sgd_run() -> None:
    """Independent of the harness's adapters: torch.optim.SGD stepped by hand, float64."""
    torch = pytest.importorskip("torch")
    case = SUITE.find_case("everything_f64")
    inputs = case_inputs(SUITE, case)
    opts = SgdOptions(**case.options)
    params = [torch.tensor(p) for p in inputs["params"]]
    optimizer = torch.optim.SGD(params, lr=0.0, momentum=opts.momentum, nesterov=opts.nesterov,
                                weight_decay=opts.weight_decay, maximize=opts.maximize)  # fmt: skip
    for p, buf, k in zip(params, inputs["momentum_buffers"], inputs["steps_done"], strict=True):
        if k > 0:
            optimizer.state[p]["momentum_buffer"] = torch.tensor(buf)
    for step, lr in enumerate(inputs["lrs"]):
        optimizer.param_groups[0]["lr"] = float(lr)
        for i, p in enumerate(params):
            has = inputs["has_grad"][step, i]
            p.grad = torch.tensor(inputs["grads"][i][step]) if has else None
        optimizer.step()
    expected, _, _ = SUITE.run_oracle(inputs, case)
    for p, e in zip(params, expected, strict=True):
        np.testing.assert_allclose(p.numpy(), e, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "impl",
    [i for i in load_registry().select(["sgd_momentum"]) if not i.unavailable_reason()],
    ids=lambda i: i.key,
)
def test_implementations_write_into_the_given_arrays(impl: Implementation) -> None:
    """In place means the caller's arrays: a model holds references to its parameters, so
    rebinding the list's entries to new arrays would leave it untouched."""
    from harness.backends import BACKENDS

    case = SUITE.find_case("resumed_state_f32")
    backend = BACKENDS[impl.arrays]
    args = [backend.native(v) for v in case_inputs(SUITE, case).values()]
    before = [list(args[0]), list(args[4])]
    assert impl.fn is not None
    impl.fn(*SUITE.call_args(args, case))
    for kept, now in zip(before, (args[0], args[4]), strict=True):
        assert all(a is b for a, b in zip(kept, now, strict=True)), impl.key


def test_invalid_options_raise_as_torch() -> None:
    torch = pytest.importorskip("torch")
    for bad in SUITE.invalid_options:
        with pytest.raises(ValueError):
            SgdOptions(**bad)
    with pytest.raises(ValueError, match="Nesterov momentum requires"):
        torch.optim.SGD([torch.zeros(1)], lr=0.1, momentum=0.0, nesterov=True)


def test_fuzz_cases_build_and_a_correct_update_agrees() -> None:
    """Ten fuzz draws (hypothesis seed 0, not tuned): the strategy makes valid cases."""
    from harness.fuzz import fuzz

    outcome = fuzz(SUITE, Implementation("sgd_momentum", "numpy", "t", sgd_with()), 10, seed=0)
    assert outcome.ok, outcome.verdict


def test_steps_done_counts_only_steps_with_a_gradient() -> None:
    case = Case("c", {"shapes": [[3], [2, 2]], "steps": 8, "missing": 0.4, "seed": 4,
                      "dtype": "float64"})  # fmt: skip
    inputs = SUITE.make_inputs(case)
    _, _, counts = SUITE.run_oracle(inputs, SUITE.resolve(case))
    assert counts.tolist() == inputs["has_grad"].sum(axis=0).tolist()
    assert counts[-1] == 0  # the last parameter never gets a gradient in these cases
