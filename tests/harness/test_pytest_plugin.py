"""Tests of harness.pytest_plugin's cell runner: one cell's contamination stays its own, and
a timing the machine cannot have produced is flagged in the record it writes."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from harness.pytest_plugin import STATE_KEY, State, run_cell
from harness.registry import Implementation, Registry
from harness.results import Run
from harness.selection import Selection
from harness.spec import Suite

MakeImpl = Callable[..., Implementation]


class FakeBenchmark:
    """pytest-benchmark's fixture, reduced to calling the target and reporting samples."""

    def __init__(self, seconds: float) -> None:
        self.stats = SimpleNamespace(iterations=1, stats=SimpleNamespace(data=[seconds] * 5))

    def __call__(self, target: Callable[[], Any]) -> None:
        target()


def run_all(
    suite: Suite, impls: list[Implementation], mode: str, seconds: float = 1.0, **run: Any
) -> State:
    """Run every cell of the selection through ``run_cell``, as the generated tests do."""
    registry = Registry()
    registry.suites = {suite.algorithm: suite}
    registry.implementations = {i.key: i for i in impls}
    selection = Selection(mode=mode, algorithms=(suite.algorithm,), profile="smoke")
    state = State(selection, registry, Run(command="test", profile="smoke", threads={}, **run))
    request = SimpleNamespace(
        config=SimpleNamespace(stash={STATE_KEY: state}),
        getfixturevalue=lambda name: FakeBenchmark(seconds),
    )
    outcomes = (pytest.fail.Exception, pytest.skip.Exception, pytest.xfail.Exception)
    for cell in state.cells():
        with contextlib.suppress(*outcomes):  # a cell that did not pass: its record says how
            run_cell(cell, request)  # type: ignore[arg-type]
    return state


def test_one_implementations_error_state_does_not_fail_the_next(
    suite: Suite, make_impl: MakeImpl
) -> None:
    def raises_everywhere(x: np.ndarray, factor: float, opts: Any) -> np.ndarray:
        np.seterr(all="raise")
        return x * x.dtype.type(factor * (2.0 if opts.mode == "double" else 1.0))

    def warns_harmlessly(x: np.ndarray, factor: float, opts: Any) -> np.ndarray:
        np.ones(1) / np.zeros(1)  # a RuntimeWarning, unless someone made it raise
        return x * x.dtype.type(factor * (2.0 if opts.mode == "double" else 1.0))

    before = np.geterr()
    impls = [make_impl(raises_everywhere, variant="a"), make_impl(warns_harmlessly, variant="b")]
    try:
        state = run_all(suite, impls, "verify")
        after = np.geterr()
    finally:
        np.seterr(**before)
    plain = [v for v in state.run.verdicts if v["case_kind"] != "error"]
    assert {(v["variant"], v["status"], v["detail"]) for v in plain} == {
        ("a", "pass", ""),
        ("b", "pass", ""),
    }
    assert after == before
    assert all("numpy error state" in v["warning"] for v in plain if v["variant"] == "a")
    assert all(v["warning"] == "" for v in plain if v["variant"] == "b")


def test_a_timing_beyond_the_measured_roof_is_flagged(suite: Suite, make_impl: MakeImpl) -> None:
    tiny = {"cpu": {"memory_gbps": 1.0, "matmul_gflops": {"float64": 1.0, "float32": 1.0}}}
    (m,) = run_all(suite, [make_impl()], "bench", seconds=1e-9, ceilings=tiny).run.measurements
    assert m["status"] == "ok" and m["gflops"] == pytest.approx(64.0)
    assert "faster than the machine allows: 64 GFLOP/s is 64.0x the measured" in m["flagged"]
    assert m["peak_rss_mb"] is not None and isinstance(m["threads"], dict)


def test_a_timing_within_the_roof_is_trusted(suite: Suite, make_impl: MakeImpl) -> None:
    roomy = {"cpu": {"memory_gbps": 1e3, "matmul_gflops": {"float64": 1e3, "float32": 1e3}}}
    (m,) = run_all(suite, [make_impl()], "bench", seconds=1.0, ceilings=roomy).run.measurements
    assert m["status"] == "ok" and m["flagged"] == "" and m["warning"] == ""
