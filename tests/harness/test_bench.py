"""Tests of harness.bench: order statistics, cost-model rates and the verify-then-time flow."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from harness import bench
from harness.bench import (
    FRESH_CALLS,
    FRESH_RATIO,
    NOISE_LIMIT,
    caching_suspected,
    check_caching,
    flag,
    measure,
    pytest_benchmark_runner,
    summarize,
)
from harness.measurement import Measurement
from harness.registry import Implementation
from harness.spec import Suite

MakeImpl = Callable[..., Implementation]


def record(flops: float = 2e9, bytes_: float = 4e9, items: float = 0.0) -> Measurement:
    cell = {"algorithm": "a", "backend": "numpy", "variant": "v", "case": "c"}
    return Measurement(**cell, flops=flops, bytes=bytes_, items=items)


def test_summarize_order_statistics_and_rates() -> None:
    out = summarize(record(items=1000.0), [0.5, 0.1, 0.2, 0.3, 0.4], iterations=7)
    assert out.samples == (0.5, 0.1, 0.2, 0.3, 0.4)
    assert (out.rounds, out.iterations) == (5, 7)
    assert out.median_s == pytest.approx(0.3)
    assert out.iqr_s == pytest.approx(0.4 - 0.2)
    assert out.mean_s == pytest.approx(0.3)
    assert out.min_s == pytest.approx(0.1)
    assert out.stddev_s == pytest.approx(float(np.std([0.1, 0.2, 0.3, 0.4, 0.5], ddof=1)))
    assert out.noisy is True
    assert out.gflops == pytest.approx(2e9 / 0.3 / 1e9)
    assert out.gbps == pytest.approx(4e9 / 0.3 / 1e9)
    assert out.items_per_s == pytest.approx(1000 / 0.3)


def test_noise_flag_threshold_is_ten_percent_of_the_median() -> None:
    assert NOISE_LIMIT == 0.10
    quiet = summarize(record(), [1.00, 1.02, 1.04, 1.06, 1.08], iterations=1)  # IQR/med 0.04/1.04
    assert quiet.noisy is False
    noisy = summarize(record(), [1.0, 1.0, 1.0, 1.5, 1.5], iterations=1)  # IQR/median 0.5
    assert noisy.noisy is True


def test_summarize_single_sample_and_no_items() -> None:
    out = summarize(record(items=0.0), [0.25], iterations=1)
    assert out.stddev_s == 0.0
    assert out.iqr_s == 0.0
    assert out.items_per_s is None
    assert out.gflops == pytest.approx(8.0)


def test_measure_times_the_first_call_apart_then_runs_the_benchmark(
    suite: Suite, make_impl: MakeImpl
) -> None:
    case = suite.find_case("bench_64")
    targets: list[Any] = []

    def runner(target: Callable[[], Any], setup: Any, first: Any) -> tuple[list[float], int]:
        targets.append(target)
        np.testing.assert_allclose(target(), suite.run_oracle(suite.make_inputs(case), case))
        return [2e-6, 1e-6, 3e-6], 10

    verdict, rec = measure(suite, make_impl(), case, runner)
    assert verdict.status == "pass"
    assert rec.verdict == "pass"
    assert rec.status == "ok" and rec.reason == ""
    assert isinstance(rec.first_call_s, float) and rec.first_call_s >= 0
    assert len(targets) == 1
    assert rec.samples == (2e-6, 1e-6, 3e-6)
    assert (rec.rounds, rec.iterations) == (3, 10)
    assert rec.median_s == pytest.approx(2e-6)
    assert rec.flops == 64 and rec.bytes == 2 * 64 * 8
    assert rec.gflops == pytest.approx(64 / 2e-6 / 1e9)
    assert (rec.algorithm, rec.backend, rec.case, rec.case_kind) == (
        "toy_scale",
        "numpy",
        "bench_64",
        "bench",
    )
    assert rec.device == "cpu"
    assert suite.standard == "bench_64" and rec.standard is True


def test_measure_marks_the_standard_case_and_the_device(suite: Suite, make_impl: MakeImpl) -> None:
    standard = replace(suite, standard="bench_4k")
    runner = lambda target, setup, first: ([1e-6], 1)  # noqa: E731
    _, rec = measure(standard, make_impl(), standard.find_case("bench_4k"), runner)
    assert rec.standard is True
    _, rec = measure(standard, make_impl(), standard.find_case("bench_64"), runner)
    assert rec.standard is False
    assert rec.device == "cpu"  # harness.backends.device_of (tests/harness/test_backends.py)


def test_a_standard_case_must_be_a_bench_case(suite: Suite) -> None:
    with pytest.raises(ValueError, match="standard case 'nope' is not a bench case"):
        replace(suite, standard="nope")


def test_measure_does_not_time_a_wrong_implementation(suite: Suite, make_impl: MakeImpl) -> None:
    def runner(target: Callable[[], Any], setup: Any, first: Any) -> tuple[list[float], int]:
        raise AssertionError("a wrong implementation must not be timed")

    verdict, rec = measure(
        suite,
        make_impl(lambda x, factor, opts: x * (factor + 1)),
        suite.find_case("bench_64"),
        runner,
    )
    assert verdict.status == "fail"
    assert rec.status == "fail" and rec.verdict == "fail"
    assert rec.reason.startswith("64/64 elements differ")
    assert rec.samples == () and rec.median_s is None and rec.gflops is None
    assert isinstance(rec.first_call_s, float)


def test_measure_reports_a_skip_with_its_reason(suite: Suite, make_impl: MakeImpl) -> None:
    def runner(target: Callable[[], Any], setup: Any, first: Any) -> tuple[list[float], int]:
        raise AssertionError("a skipped cell must not be timed")

    verdict, rec = measure(suite, make_impl(max_flops=10.0), suite.find_case("bench_64"), runner)
    assert verdict.status == "skip"
    assert rec.status == "skip"
    assert rec.reason.startswith("size cap: case needs 64 flops")
    assert rec.first_call_s is None


class FakeBenchmark:
    """Stands in for pytest-benchmark's fixture: records the target, holds fixed stats."""

    def __init__(self) -> None:
        self.targets: list[Any] = []
        self.stats = SimpleNamespace(iterations=4, stats=SimpleNamespace(data=[4e-3, 8e-3]))

    def __call__(self, target: Callable[[], Any]) -> None:
        self.targets.append(target)


def test_pytest_benchmark_runner_divides_rounds_by_iterations() -> None:
    fixture = FakeBenchmark()
    samples, iterations = pytest_benchmark_runner(fixture)(print, None, None)
    assert fixture.targets == [print]
    assert iterations == 4
    assert samples == pytest.approx([1e-3, 2e-3])


# ---- a timing that did not do the work -------------------------------------------------------


def fake_runner(samples: list[float]) -> Callable[..., tuple[list[float], int]]:
    """Calls the target like pytest-benchmark would, then reports the given samples."""

    def run(target: Callable[[], Any], setup: Any, first: Any) -> tuple[list[float], int]:
        for _ in range(3):
            target()
        return samples, 1

    return run


def test_a_result_cached_on_input_identity_is_caught(suite: Suite, make_impl: MakeImpl) -> None:
    cache: dict[int, np.ndarray] = {}

    def memoised(x: np.ndarray, factor: float, opts: Any) -> np.ndarray:
        if id(x) not in cache:
            cache[id(x)] = x * x.dtype.type(factor)
        return cache[id(x)]

    verdict, rec = measure(
        suite, make_impl(memoised), suite.find_case("bench_64"), fake_runner([1e-3])
    )
    assert verdict.status == "pass" and rec.status == "ok"  # right answers, each time
    assert rec.flagged.startswith("returned the memory of its first call's output again")


def test_a_copied_cached_result_is_caught_on_fresh_inputs(
    suite: Suite, make_impl: MakeImpl
) -> None:
    cache: dict[int, np.ndarray] = {}

    def memoised(x: np.ndarray, factor: float, opts: Any) -> np.ndarray:
        if id(x) not in cache:
            time.sleep(0.02)  # the work: at least 20 ms on inputs it has not seen
            cache[id(x)] = x * x.dtype.type(factor)
        return cache[id(x)].copy()

    _, rec = measure(suite, make_impl(memoised), suite.find_case("bench_64"), fake_runner([1e-5]))
    assert rec.fresh_s is not None and rec.fresh_s >= 0.02
    assert rec.flagged.startswith("a call on fresh copies of its inputs took")
    assert "may have reused a result cached for the same inputs" in rec.flagged


def test_an_honest_implementation_is_not_flagged(suite: Suite, make_impl: MakeImpl) -> None:
    def slow(x: np.ndarray, factor: float, opts: Any) -> np.ndarray:
        time.sleep(0.01)  # the same work on any inputs: fresh copies are no slower
        return x * x.dtype.type(factor)

    _, rec = measure(suite, make_impl(slow), suite.find_case("bench_64"), fake_runner([1e-6]))
    assert rec.flagged == "" and rec.fresh_s is not None and rec.fresh_s >= 0.01


def test_caching_is_suspected_only_well_above_the_calls_on_seen_inputs() -> None:
    assert caching_suspected(0.1, 1e-3).startswith(
        "a call on fresh copies of its inputs took 100x one on the inputs it had seen"
    )
    assert caching_suspected(4e-3, 1e-3) == ""  # under FRESH_RATIO times
    assert caching_suspected(6e-5, 1e-5) == ""  # over the ratio, but a jitter of 50 us
    assert caching_suspected(1.0, 0.0) == ""
    assert FRESH_RATIO * 1e-3 < 0.1


def test_flag_adds_each_reason_once() -> None:
    rec = flag(flag(record(), "a"), "b")
    assert rec.flagged == "a; b"
    assert flag(rec, "a") is rec and flag(rec, "") is rec


@pytest.mark.parametrize(
    ("first_call_s", "median_s", "samples", "pairs", "seen_too"),
    [
        # a JIT compile in the first call: the timed calls are fast
        (6.0, 1e-4, (1e-4,), FRESH_CALLS, True),
        # slow timed calls: one call on fresh inputs, held against the fastest timed round
        (1e-4, 0.5, (0.5, 0.6), 1, False),
        (6.0, None, (), 1, True),  # nothing timed: the first call is all there is
    ],
)
def test_the_caching_check_sizes_its_pairs_by_the_timed_calls(
    monkeypatch: pytest.MonkeyPatch,
    first_call_s: float,
    median_s: float | None,
    samples: tuple[float, ...],
    pairs: int,
    seen_too: bool,
) -> None:
    asked: list[tuple[int, bool]] = []

    def paired(
        suite: Any, case: Any, target: Any, calls: int, seen_too: bool = True
    ) -> tuple[list[float], ...]:
        asked.append((calls, seen_too))
        return [1e-3] * calls * seen_too, [1e-3] * calls, None

    monkeypatch.setattr(bench, "paired_call_seconds", paired)
    rec = replace(record(), first_call_s=first_call_s, median_s=median_s, samples=samples)
    target = SimpleNamespace(call=SimpleNamespace(state=()))
    out = check_caching(rec, SimpleNamespace(outputs=()), None, target, None)  # type: ignore[arg-type]
    assert asked == [(pairs, seen_too)] and out.fresh_s == pytest.approx(1e-3)
    assert not out.flagged


def test_a_slow_cached_result_is_caught_by_one_fresh_call(
    suite: Suite, make_impl: MakeImpl, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench, "SLOW_CALL_S", 1e-4)  # the timed calls below count as slow
    cache: dict[int, np.ndarray] = {}

    def memoised(x: np.ndarray, factor: float, opts: Any) -> np.ndarray:
        if id(x) not in cache:
            time.sleep(0.02)
            cache[id(x)] = x * x.dtype.type(factor)
        return cache[id(x)].copy()

    _, rec = measure(suite, make_impl(memoised), suite.find_case("bench_64"), fake_runner([1e-3]))
    assert rec.fresh_s is not None and rec.fresh_s >= 0.02
    assert rec.flagged.startswith("a call on fresh copies of its inputs took")
