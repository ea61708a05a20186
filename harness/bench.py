"""Timing glue around pytest-benchmark: first call apart, checked output, cost-model rates."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from harness.backends import device_of
from harness.budget import Timing
from harness.measurement import Measurement
from harness.prepare import case_cost
from harness.registry import Implementation
from harness.spec import Case, Suite
from harness.verdict import cell_identity
from harness.verify import Verdict, verify

NOISE_LIMIT = 0.10  # IQR/median above this flags a measurement as noisy (torch.utils.benchmark)


def _skeleton(suite: Suite, impl: Implementation, case: Case) -> Measurement:
    return Measurement(
        standard=case.name == suite.standard,
        device=device_of(impl.arrays),
        **cell_identity(impl, case),
        **case_cost(suite, case).as_dict(),
    )


def summarize(record: Measurement, samples: list[float], iterations: int) -> Measurement:
    """Add order statistics and cost-model rates computed from the raw per-call samples."""
    arr = np.asarray(samples, dtype=np.float64)
    median = float(np.median(arr))
    q1, q3 = (float(x) for x in np.percentile(arr, [25, 75]))
    record = replace(
        record,
        samples=tuple(float(x) for x in arr),
        rounds=int(arr.size),
        iterations=iterations,
        median_s=median,
        iqr_s=q3 - q1,
        mean_s=float(arr.mean()),
        min_s=float(arr.min()),
        stddev_s=float(arr.std(ddof=1)) if arr.size > 1 else 0.0,
        noisy=bool(median > 0 and (q3 - q1) / median > NOISE_LIMIT),
    )
    if median > 0:
        record = replace(
            record,
            gflops=record.flops / median / 1e9,
            gbps=record.bytes / median / 1e9,
            items_per_s=record.items / median if record.items else None,
        )
    return record


def measure(
    suite: Suite,
    impl: Implementation,
    case: Case,
    run_benchmark: Runner,
) -> tuple[Verdict, Measurement]:
    """Verify the first call (timed on its own: JIT compile, CUDA warm-up), then time.

    ``run_benchmark(target)`` is pytest-benchmark's fixture (or a stand-in in tests); it
    returns per-call samples in seconds and the iteration count.
    """
    record = _skeleton(suite, impl, case)
    first: dict[str, Any] = {}

    def first_call(target: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        out = target()
        first["seconds"] = time.perf_counter() - start
        first["target"] = target
        return out

    verdict = verify(suite, impl, case, on_call=first_call)
    if verdict.status != "pass":
        return verdict, not_timed(suite, impl, case, verdict, first.get("seconds"))
    record = replace(record, verdict=verdict.status, first_call_s=first.get("seconds"))
    target = first["target"]
    samples, iterations = run_benchmark(target, target.setup, first["seconds"])
    return verdict, summarize(record, samples, iterations)


def not_timed(
    suite: Suite, impl: Implementation, case: Case, verdict: Verdict, first_call_s: float | None
) -> Measurement:
    """The measurement of a cell that was not timed: skipped, failed, or lost to a crash."""
    return replace(
        _skeleton(suite, impl, case),
        verdict=verdict.status,
        first_call_s=first_call_s,
        status="skip" if verdict.status == "skip" else verdict.status,
        reason=verdict.detail or verdict.note,
    )


def time_only(
    suite: Suite,
    impl: Implementation,
    case: Case,
    run_benchmark: Runner,
) -> Measurement:
    """Time a cell already verified earlier in the same process (the gate's later rounds).

    Nothing is compared. The first call (JIT compile, caches) is made and timed apart,
    outside the samples. A cell that cannot run here (unavailable, size cap) comes back as
    a skip.
    """
    from harness.verify import over_cap, prepare

    record = _skeleton(suite, impl, case)
    reason = impl.unavailable_reason() or over_cap(suite, impl, case)
    if reason:
        return replace(record, status="skip", reason=reason)
    target = prepare(suite, impl, case).synchronized()
    start = time.perf_counter()
    target()
    record = replace(record, first_call_s=time.perf_counter() - start, verdict="pass")
    samples, iterations = run_benchmark(target, target.setup, record.first_call_s)
    return summarize(record, samples, iterations)


#: (target, setup before each round or None, first-call seconds) -> (samples, iterations)
Runner = Callable[[Callable[[], Any], Callable[[], None] | None, float | None], Any]


def pytest_benchmark_runner(fixture: Any, timing: Timing | None = None) -> Runner:
    """Adapt pytest-benchmark's fixture: raw round durations divided by iterations.

    ``timing`` is the profile's rule (harness.budget.Timing; None: no round budget, as the
    full profile and the gate). A fast stateless call is timed by pytest-benchmark's own
    loop. A call too slow for the round budget gets one warm call (a first call that only
    compiled is told apart from a slow one), then ``pedantic`` rounds of one call, as many
    as the budget holds. A cell with declared state always runs through ``pedantic``, with
    ``setup`` resetting the state before every round, so every timed call starts from the
    same state.
    """
    rule = timing or Timing(max_time=0.0)

    def run(
        target: Callable[[], Any], setup: Callable[[], None] | None, first: float | None
    ) -> tuple[list[float], int]:
        per_call = first or 0.0
        if rule.is_slow(per_call):
            if setup is not None:
                setup()
            start = time.perf_counter()
            target()
            per_call = time.perf_counter() - start
        if setup is None and not rule.is_slow(per_call):
            fixture(target)
        else:
            rounds = rule.rounds(per_call or 0.01, stateful=setup is not None)
            fixture.pedantic(target, setup=setup, rounds=rounds, iterations=1)
        stats = fixture.stats
        iterations = int(stats.iterations)
        return [d / iterations for d in stats.stats.data], iterations

    return run
