"""Tests of the harness for algorithms beyond "inputs in, one output out": declared state
updated in place, lists of parameter arrays, stop-and-resume, prepare closures, own-RNG
implementations, cost from the oracle's output, modes, and the library's own error."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from harness.args import Args, ArrayList, Scalar
from harness.backends import seed_all
from harness.cases import Cost, bench, case
from harness.comparators import Close, Comparison, Each
from harness.errors import generate, mutate
from harness.prepare import case_cost, prepare
from harness.registry import Implementation, Registry
from harness.spec import Case, Suite
from harness.verify import verify
from reports.table import with_library_error

ARGS = Args(
    ArrayList("params"),
    ArrayList("grads", like="params", lead=1),
    Scalar("lr", low=0.0),
)


def descend(params: Any, grads: Any, lr: float) -> list[Any]:
    """Oracle: p <- p - lr * g for each of the T stacked steps, functionally."""
    ARGS.check(params, grads, lr)
    out = [np.array(p, dtype=np.float64) for p in params]
    for p, g in zip(out, grads, strict=True):
        for step in np.asarray(g, dtype=np.float64):
            p -= lr * step
    return out


def make_inputs(c: Case) -> dict[str, Any]:
    rng = np.random.default_rng(c.seed)
    shapes, steps = [(3,), (2, 4)], int(c.params.get("steps", 4))
    params = [rng.standard_normal(s) for s in shapes]
    grads = [rng.standard_normal((steps, *s)) for s in shapes]
    return {"params": params, "grads": grads, "lr": 0.1}


def build(**changes: Any) -> Suite:
    fields: dict[str, Any] = dict(
        algorithm="descend",
        family="toy",
        summary="gradient descent over stacked steps",
        conventions="",
        args=ARGS,
        make_inputs=make_inputs,
        oracle=descend,
        compare=Each(Close(reduction=lambda c: 4)),
        cost=lambda c: Cost(flops=2.0, bytes=8.0),
        cases=[case("four_steps", steps=4), case("one_step", steps=1)],
        bench={"smoke": [bench("bench", steps=8)]},
        standard="bench",
        outputs=("params",),
        state=("params",),
        steps=("grads",),
        defaults={"seed": 5, "dtype": "float64"},
    )
    fields.update(changes)
    return Suite(**fields)


SUITE = build()


def impl(fn: Callable[..., Any], **fields: Any) -> Implementation:
    return Implementation("descend", "numpy", "t", fn, **fields)


def in_place(params: Any, grads: Any, lr: float) -> None:
    ARGS.check(params, grads, lr)
    for p, g in zip(params, grads, strict=True):
        for step in g:
            p -= lr * step


def test_state_is_updated_in_place_and_read_back_as_the_output() -> None:
    v = verify(SUITE, impl(in_place), SUITE.find_case("four_steps"))
    assert v.status == "pass", v.detail


def test_a_write_to_an_input_that_is_not_state_still_fails() -> None:
    def scribbles(params: Any, grads: Any, lr: float) -> None:
        in_place(params, grads, lr)
        grads[0][0] = 0.0

    v = verify(SUITE, impl(scribbles), SUITE.find_case("four_steps"))
    assert v.status == "fail" and "modified its input(s) ['grads']" in v.detail


def test_state_rebound_instead_of_updated_in_place_fails() -> None:
    def rebinds(params: Any, grads: Any, lr: float) -> None:
        """Right values, but the caller's arrays are never touched: a stale optimizer."""
        for i, g in enumerate(grads):
            params[i] = params[i] - lr * g.sum(axis=0)

    v = verify(SUITE, impl(rebinds), SUITE.find_case("four_steps"))
    assert v.status == "fail", v.detail
    assert "state 'params'[0] was rebound to another array" in v.detail


def test_state_sharing_memory_with_another_input_fails() -> None:
    one = build(cases=[case("one_step", steps=1)])

    def views_the_gradient(params: Any, grads: Any, lr: float) -> None:
        """Swaps in a view of the gradient: the next backward pass would overwrite the
        parameters (judged before any value is compared)."""
        for i, g in enumerate(grads):
            params[i] = g[0]

    v = verify(one, impl(views_the_gradient), one.find_case("one_step"))
    assert v.status == "fail", v.detail
    assert "state 'params' shares memory with input 'grads'" in v.detail


def test_a_hidden_step_counter_fails_the_resume_check() -> None:
    calls = {"n": 0}

    def remembers(params: Any, grads: Any, lr: float) -> None:
        """Correct on its first call only: later calls scale the step (a hidden counter)."""
        calls["n"] += 1
        scale = 1.0 if calls["n"] == 1 else 0.5
        in_place(params, grads, lr * scale)

    v = verify(SUITE, impl(remembers), SUITE.find_case("four_steps"))
    assert v.status == "fail"
    assert "stopping after 2 of 4 steps and resuming" in v.detail


def test_reset_restores_the_state_before_each_timed_round() -> None:
    call = prepare(SUITE, impl(in_place), SUITE.find_case("four_steps"))
    target = call.synchronized()
    assert target.setup is not None
    first = [np.array(p) for p in call.args[0]]
    target()
    assert not np.array_equal(call.args[0][0], first[0])
    target.setup()
    assert all(np.array_equal(a, b) for a, b in zip(call.args[0], first, strict=True))
    stateless = replace(SUITE, state=(), steps=(), outputs=("params",))
    assert (
        prepare(stateless, impl(in_place), SUITE.find_case("one_step")).synchronized().setup is None
    )


def test_prepare_closures_do_their_setup_once_outside_the_call() -> None:
    log: list[str] = []

    def setup_then_step(params: Any, grads: Any, lr: float) -> Callable[[], None]:
        ARGS.check(params, grads, lr)
        log.append("setup")

        def step() -> None:
            log.append("call")
            in_place(params, grads, lr)

        return step

    v = verify(SUITE, impl(setup_then_step, prepare=True), SUITE.find_case("one_step"))
    assert v.status == "pass", v.detail
    assert log[:2] == ["setup", "call"]

    not_callable = impl(lambda p, g, lr: None, prepare=True)
    v = verify(SUITE, not_callable, SUITE.find_case("one_step"))
    assert v.status == "error" and "must return the closure to time" in v.detail


def test_array_lists_are_checked_and_get_their_own_error_cases() -> None:
    good = make_inputs(Case("c", {"seed": 1}))
    with pytest.raises(TypeError, match=r"params must be a list of arrays"):
        ARGS.check(good["params"][0], good["grads"], 0.1)
    with pytest.raises(ValueError, match=r"grads must match params array for array"):
        ARGS.check(good["params"], good["grads"][:1], 0.1)
    with pytest.raises(TypeError, match=r"params\[1\] must have a float dtype"):
        ARGS.check([good["params"][0], np.zeros(4, dtype=np.int32)], good["grads"], 0.1)
    cases = generate(ARGS, Case("b", {}), good)
    names = [c.name for c in cases]
    assert {"params:not_a_list", "params:wrong_dtype", "params:one_array_short"} <= set(names)
    assert "grads:one_array_short" in names
    for err in cases:
        bad = mutate(ARGS, good, err.params["mutate"])
        with pytest.raises(err.expected, match=err.match):
            ARGS.check(*bad.values())


def test_the_python_backend_gets_lists_of_lists() -> None:
    def python_descend(params: Any, grads: Any, lr: float) -> None:
        ARGS.check(params, grads, lr)
        assert isinstance(params[0], list) and not isinstance(params[0], np.ndarray)

        def flat(x: Any) -> list[Any]:
            return [v for item in x for v in flat(item)] if isinstance(x, list) else [x]

        for p, g in zip(params, grads, strict=True):
            values = flat(p)
            for step in g:
                values = [v - lr * s for v, s in zip(values, flat(step), strict=True)]
            rows = len(p) if isinstance(p[0], list) else 0
            if rows:
                width = len(p[0])
                p[:] = [values[r * width : (r + 1) * width] for r in range(rows)]
            else:
                p[:] = values

    v = verify(SUITE, impl(python_descend, arrays="python"), SUITE.find_case("four_steps"))
    assert v.status == "pass", v.detail


def test_own_rng_implementations_are_judged_by_the_statistical_comparator() -> None:
    class Statistical(Each):
        """Stands for a statistical comparator: says that it was the one asked."""

        def __call__(self, *args: Any) -> Comparison:
            return Comparison(False, "judged by the own-RNG comparator")

    suite = build(own_rng_compare=Statistical())
    case_ = suite.find_case("four_steps")
    own = verify(suite, impl(in_place, own_rng=True), case_)
    assert (own.status, own.detail) == ("fail", "judged by the own-RNG comparator")
    assert verify(suite, impl(in_place), case_).status == "pass"  # injected draws: Each(Close)
    assert suite.comparator_for(True) is suite.own_rng_compare
    assert SUITE.comparator_for(True) is SUITE.compare  # no statistical comparator declared


def test_cost_may_read_the_oracle_output() -> None:
    seen: list[Any] = []

    def cost(c: Case, expected: Any) -> Cost:
        seen.append(expected)
        return Cost(flops=float(len(expected)), bytes=1.0)

    suite = build(cost=cost)
    assert suite.cost_needs_output
    assert case_cost(suite, suite.find_case("four_steps")).flops == 2.0  # two parameters
    assert seen and isinstance(seen[0], list)


def test_seed_all_makes_library_generators_repeat() -> None:
    torch = pytest.importorskip("torch")
    seed_all(7)
    a = (np.random.random(3), torch.rand(3))
    seed_all(7)
    b = (np.random.random(3), torch.rand(3))
    assert np.array_equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_seed_all_reaches_numbas_own_generator() -> None:
    numba = pytest.importorskip("numba")

    @numba.njit(cache=False)
    def draw() -> float:
        return float(np.random.random())

    seed_all(11)
    first = draw()
    seed_all(11)
    assert draw() == first


def test_a_resume_that_raises_is_the_cells_error_not_a_crash() -> None:
    calls = {"n": 0}

    def raises_when_resumed(params: Any, grads: Any, lr: float) -> None:
        calls["n"] += 1
        if calls["n"] > 1:
            raise RuntimeError("no saved state support")
        in_place(params, grads, lr)

    v = verify(SUITE, impl(raises_when_resumed), SUITE.find_case("four_steps"))
    assert v.status == "fail"
    assert "raised RuntimeError: no saved state support when resumed" in v.detail


def test_a_mode_suite_is_named_after_its_base_and_selected_with_it() -> None:
    backward = build(algorithm="descend.backward", mode="backward")
    assert backward.base_algorithm == "descend"
    with pytest.raises(ValueError, match=r"a backward suite is named <base>.backward"):
        build(algorithm="descend_backward", mode="backward")
    registry = Registry()
    registry.suites = {"descend": SUITE, "descend.backward": backward}
    for s in ("descend", "descend.backward"):
        registry.implementations[f"{s}/numpy/t"] = Implementation(s, "numpy", "t", in_place)
    assert {i.algorithm for i in registry.select(["descend"])} == {"descend", "descend.backward"}
    assert {i.algorithm for i in registry.select(["descend.backward"])} == {"descend.backward"}


def test_state_and_steps_must_name_arguments() -> None:
    with pytest.raises(ValueError, match=r"'moments' is not an argument"):
        build(state=("params", "moments"))


def test_the_report_puts_the_library_error_beside_each_verdict() -> None:
    rows = [
        ("library", "pass", 4, 2e-7, 0.2),
        ("library", "pass", 4, 1e-7, 0.1),  # the better library wins
        ("handwritten", "pass", 4, 3e-7, 0.3),
        ("library", "skip", 0, 0.0, 0.0),  # compared nothing: ignored
    ]
    names = ["kind", "status", "total", "max_abs", "error_ratio"]
    cells = [dict(zip(names, row, strict=True)) for row in rows]
    verdicts = pd.DataFrame([{"run_id": "r", "algorithm": "a", "case": "c", **c} for c in cells])
    out = with_library_error(verdicts)
    assert out["library_max_abs"].tolist() == [1e-7] * 4
    assert out["library_error_ratio"].tolist() == [0.1] * 4
    none = with_library_error(verdicts[verdicts["kind"] == "handwritten"])
    assert none["library_max_abs"].isna().all()
