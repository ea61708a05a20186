"""Tests of harness.budget: the profiles' timing rule, the quick profile's cases and the
predicted cost of a run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest

from harness.bench import pytest_benchmark_runner
from harness.budget import (
    BENCH_EXTRA_CALLS,
    REFERENCE,
    TIMINGS,
    Rates,
    Timing,
    call_seconds,
    duration_text,
    predict,
    runs_on_cpu,
    setup_seconds,
)
from harness.registry import Implementation
from harness.selection import Cell
from harness.spec import Case, Suite

MakeImpl = Callable[..., Implementation]
QUICK = Timing(max_time=0.1, round_budget=0.5)

# ---- the timing rule --------------------------------------------------------------------------


def test_a_fast_call_is_timed_by_pytest_benchmark_and_a_slow_one_within_the_round_budget() -> None:
    assert not QUICK.is_slow(0.01)  # 3 x 0.01 + max(0.1, 0.05) = 0.13 s
    assert QUICK.fast_seconds(0.01) == pytest.approx(BENCH_EXTRA_CALLS * 0.01 + 0.1)
    assert QUICK.is_slow(0.07)  # 0.21 + 0.35 > 0.5
    assert QUICK.rounds(0.07, stateful=False) == 5  # 0.5 // 0.07 = 7, at most min_rounds
    assert QUICK.rounds(0.15, stateful=False) == 3  # 0.5 // 0.15 = 3
    assert QUICK.rounds(4.0, stateful=False) == 3  # never fewer than slow_rounds
    # the first call compiled (2 s), the warm call shows a fast call: no extra rounds
    assert QUICK.after_first_call(0.01, 2.01, stateful=False) == pytest.approx(
        0.01 + QUICK.fast_seconds(0.01)
    )
    # a slow call: the warm call where the first may have compiled, 3 rounds, 1 fresh call
    assert QUICK.after_first_call(4.0, 4.0, stateful=False) == pytest.approx(4.0 + 4 * 4.0)
    # where the first call cannot have compiled, it was the warm call
    assert QUICK.after_first_call(4.0, 4.0, stateful=False, compiles=False) == pytest.approx(
        4 * 4.0
    )


def test_where_the_first_call_cannot_compile_a_slow_one_gets_no_warm_call() -> None:
    calls: list[str] = []
    fixture = FakeBenchmark()
    run = pytest_benchmark_runner(fixture, QUICK, compiles=False)
    run(lambda: calls.append("call"), None, 0.3)  # slow, and no compile to tell apart
    assert calls == [] and not fixture.plain
    (kwargs,) = fixture.pedantic_calls
    assert kwargs["rounds"] == 3


def test_stateful_rounds_fill_the_budget_and_without_one_keep_the_old_rule() -> None:
    assert QUICK.rounds(1e-4, stateful=True) == 50
    assert QUICK.rounds(0.05, stateful=True) == 10
    full = TIMINGS["full"]
    assert full.round_budget is None and not full.is_slow(100.0)
    assert full.rounds(1e-4, stateful=True) == 50  # 0.5 s of rounds, at most 50
    assert full.rounds(0.2, stateful=True) == 5  # at least min_rounds


def test_profiles_and_max_time_override() -> None:
    assert TIMINGS["quick"].round_budget is not None and TIMINGS["full"].max_time == 2.0
    assert TIMINGS["quick"].with_max_time(0.05).max_time == 0.05
    assert TIMINGS["quick"].with_max_time(None) is TIMINGS["quick"]


class FakeBenchmark:
    """pytest-benchmark's fixture as the runner sees it: plain or pedantic calls."""

    def __init__(self) -> None:
        self.plain: list[Any] = []
        self.pedantic_calls: list[dict[str, Any]] = []
        self.stats = SimpleNamespace(iterations=1, stats=SimpleNamespace(data=[1.0]))

    def __call__(self, target: Callable[[], Any]) -> None:
        self.plain.append(target)

    def pedantic(self, target: Callable[[], Any], **kwargs: Any) -> None:
        self.pedantic_calls.append(kwargs)


def test_a_first_call_that_only_compiled_is_timed_by_pytest_benchmark() -> None:
    calls: list[str] = []
    fixture = FakeBenchmark()
    run = pytest_benchmark_runner(fixture, QUICK)
    run(lambda: calls.append("call"), None, 0.3)  # 0.3 s first call: a compile, or slow
    assert calls == ["call"]  # the warm call that tells which: fast
    assert len(fixture.plain) == 1 and not fixture.pedantic_calls


def test_the_runner_gives_a_slow_warm_call_the_rounds_the_budget_holds() -> None:
    import time

    fixture = FakeBenchmark()
    run = pytest_benchmark_runner(fixture, Timing(max_time=0.001, round_budget=0.01))
    run(lambda: time.sleep(0.004), None, 0.004)  # slow: 3 x 0.004 + 0.02 > 0.01
    (kwargs,) = fixture.pedantic_calls
    assert kwargs["rounds"] == 3 and kwargs["iterations"] == 1 and kwargs["setup"] is None
    assert not fixture.plain


def test_the_runner_without_a_budget_is_pytest_benchmark_as_before() -> None:
    fixture = FakeBenchmark()
    pytest_benchmark_runner(fixture)(print, None, 100.0)
    assert fixture.plain == [print] and not fixture.pedantic_calls
    resets: list[int] = []
    pytest_benchmark_runner(fixture)(print, lambda: resets.append(1), 0.2)
    assert fixture.pedantic_calls[-1]["rounds"] == 5 and not resets  # no warm call


# ---- the quick profile's cases ----------------------------------------------------------------


def test_quick_times_the_first_smoke_case_and_the_standard_case(suite: Suite) -> None:
    smoke, quick = suite.bench["smoke"][0], suite.bench["quick"][0]
    extra = Case("bench_1k", {"n": 1024, "seed": 8}, kind="bench")
    wide = replace(
        suite, bench={"smoke": [smoke, extra], "quick": [quick], "full": []}, standard="bench_4k"
    )
    assert [c.name for c in wide.cases_for_profile("quick")] == ["bench_64", "bench_4k"]
    assert [c.name for c in wide.cases_for_profile("smoke")] == ["bench_64", "bench_1k"]
    assert [c.name for c in wide.cases_for_profile("full")] == ["bench_64", "bench_1k", "bench_4k"]
    # the standard case is the smoke case: quick times it alone
    assert [c.name for c in suite.cases_for_profile("quick")] == ["bench_64"]


# ---- predictions --------------------------------------------------------------------------------

RATES = Rates(
    gflops=1.0,
    gbps=1.0,
    python_gflops=0.001,
    oracle_gflops=0.5,
    oracle_gbps=0.5,
    call_s=0.0,
    cell_s=0.01,
    jit_s=2.0,
    ceilings={"matmul_gflops_float64": 10.0, "memory_gbps": 5.0},
)


def test_call_and_setup_seconds_follow_the_cost_model(suite: Suite, make_impl: MakeImpl) -> None:
    cost = suite.cost(Case("c", {"n": 1e9, "seed": 0}))  # 1e9 flops, 1.6e10 bytes (float64)
    assert call_seconds(make_impl(), cost, RATES) == pytest.approx(16.0)  # bytes-bound
    assert call_seconds(make_impl(backend="python"), cost, RATES) == pytest.approx(1000.0)
    assert setup_seconds(cost, RATES) == pytest.approx(32.0)


def test_a_verify_prediction_counts_setup_per_case_compiles_per_signature_and_skips(
    suite: Suite, make_impl: MakeImpl
) -> None:
    jit, capped = make_impl(backend="numba", variant="jit"), make_impl(variant="cap", max_flops=6)
    gone = make_impl(variant="gone", load_error="numpy: not here")
    cases = [suite.find_case(n) for n in ("small", "small_f32", "double")]
    cells = [Cell("verify", suite, i, c) for c in cases for i in (jit, capped, gone)]
    cells.append(Cell("verify", suite, jit, suite.error_cases[0]))
    out = predict(cells, RATES, available=lambda impl: impl.variant != "gone")
    # three cases set up; jit runs all three (compiles for float64 and float32), capped
    # runs the 5-element case only, gone nothing; the error case is harness work
    setups = sum(setup_seconds(suite.cost(c), RATES) for c in cases)
    calls = sum(call_seconds(jit, suite.cost(c), RATES) for c in cases)
    calls += call_seconds(capped, suite.cost(cases[2]), RATES)
    expected = setups + calls + 2 * 2.0 + 4 * RATES.cell_s + RATES.cell_s
    assert out.cells == 4
    assert out.seconds == pytest.approx(expected)
    assert out.by_algorithm == {"toy_scale": pytest.approx(expected)}
    # on the reference machine every CPU implementation counts, whatever runs here
    assert predict(cells, RATES, available=runs_on_cpu).cells == 7


def test_a_bench_prediction_adds_the_profile_timing(suite: Suite, make_impl: MakeImpl) -> None:
    case = suite.find_case("bench_64")
    one = predict([Cell("bench", suite, make_impl(), case)], RATES, QUICK)
    per_call = call_seconds(make_impl(), suite.cost(case), RATES)
    expected = setup_seconds(suite.cost(case), RATES) + RATES.cell_s + per_call
    assert one.seconds == pytest.approx(expected + QUICK.fast_seconds(per_call))
    assert one.as_dict()["cells"] == 1 and "toy_scale" in one.as_dict()["by_algorithm"]


def test_rates_scale_with_the_measured_ceilings() -> None:
    ceilings = {"cpu": {"memory_gbps": 10.0, "matmul_gflops": {"float64": 5.0}}}
    scaled = RATES.scaled(ceilings)
    assert (scaled.gflops, scaled.oracle_gflops) == (0.5, 0.25)  # half the reference flops
    assert (scaled.gbps, scaled.oracle_gbps) == (2.0, 1.0)  # twice its bandwidth
    assert (scaled.python_gflops, scaled.jit_s) == (RATES.python_gflops, RATES.jit_s)
    assert RATES.scaled({"cpu": {"unavailable": True}}) == RATES
    assert RATES.scaled({}) == RATES
    assert REFERENCE.scaled({"cpu": {"memory_gbps": 10.0}}).gbps == REFERENCE.gbps


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.25, "0.2 s"), (42.4, "42 s"), (200.0, "3 min 20 s"), (3725.0, "1 h 02 min")],
)
def test_duration_text(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text
