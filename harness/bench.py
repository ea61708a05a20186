"""Timing glue around pytest-benchmark: first call apart, checked output, cost-model rates,
and the checks that the timed calls did the work (no result cached across calls)."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from harness.backends import device_of, shares_memory
from harness.budget import Timing
from harness.hygiene import settle
from harness.measurement import Measurement
from harness.prepare import PreparedCall, Target, case_cost, prepare
from harness.registry import Implementation
from harness.spec import Case, Suite
from harness.verdict import cell_identity
from harness.verify import Verdict, verify

NOISE_LIMIT = 0.10  # IQR/median above this flags a measurement as noisy (torch.utils.benchmark)
# After timing, pairs of calls check that the timed calls did the work: one on the inputs
# the rounds used, then one on fresh copies of them (new objects at new addresses, so
# nothing keyed on an input's identity can answer). Both come right after the copies are
# made, so both are equally cold. FRESH_CALLS pairs, one when a call takes over SLOW_CALL_S.
# The fastest fresh call over FRESH_RATIO times the fastest on the seen inputs, and
# FRESH_MIN_EXCESS_S above it, says the seen inputs were answered from a cache.
FRESH_CALLS, SLOW_CALL_S = 3, 0.1
FRESH_RATIO, FRESH_MIN_EXCESS_S = 5.0, 1e-4


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
        first["target"], first["out"] = target, out
        return out

    verdict = verify(suite, impl, case, on_call=first_call)
    if verdict.status != "pass":
        return verdict, not_timed(suite, impl, case, verdict, first.get("seconds"))
    record = replace(record, verdict=verdict.status, first_call_s=first.get("seconds"))
    target = first["target"]
    samples, iterations = run_benchmark(target, target.setup, first["seconds"])
    settle()
    record = summarize(record, samples, iterations)
    return verdict, check_caching(record, suite, case, target, first["out"])


def flag(record: Measurement, reason: str) -> Measurement:
    """The record with one more reason not to trust its timing ("" adds nothing)."""
    if not reason or reason in record.flagged.split("; "):
        return record
    return replace(record, flagged="; ".join(filter(None, [record.flagged, reason])))


def check_caching(
    record: Measurement, suite: Suite, case: Case, target: Target, first_out: Any
) -> Measurement:
    """Flag a timing that may have measured a lookup instead of the work.

    An output of a later call in the memory of the first call's output (still held, so its
    memory cannot have been reused) is a stored result handed back. Calls much slower on
    fresh copies of the inputs than on the inputs already seen say the seen ones were
    answered from something keyed on them.
    """
    # A slow call (over SLOW_CALL_S) makes one call on fresh copies, held against the fastest
    # timed round: at that length the pair's equal coldness matters no more than the noise,
    # and the seen call would cost a whole call more. Fast calls make FRESH_CALLS pairs: the
    # first call is no guide (it includes a JIT compile), and one pair of fast calls on a
    # busy machine can differ by 5x by chance.
    per_call = record.median_s if record.median_s is not None else record.first_call_s
    slow = (per_call or 0.0) > SLOW_CALL_S
    timed = slow and bool(record.samples)  # else nothing to hold the fresh call against
    try:
        seen, fresh, again = paired_call_seconds(
            suite, case, target, 1 if slow else FRESH_CALLS, seen_too=not timed
        )
    except Exception as exc:
        return flag(record, f"raised {type(exc).__name__} when called again after timing")
    if timed:
        seen = [min(record.samples)]
    names = tuple(n for n in suite.outputs if n not in target.call.state)
    pairs = zip(_returned(first_out, len(names)), _returned(again, len(names)), strict=True)
    if any(shares_memory(a, b) for a, b in pairs):
        record = flag(
            record,
            "returned the memory of its first call's output again: a cached result (or a "
            "reused output buffer), so the timed calls may not have done the work",
        )
    record = replace(record, fresh_s=min(fresh))
    return flag(record, caching_suspected(min(fresh), min(seen)))


def _returned(raw: Any, count: int) -> list[Any]:
    """The returned outputs of a call, one per returned name."""
    if count > 1 and isinstance(raw, tuple):
        return list(raw)
    return [raw] if count == 1 else []


def paired_call_seconds(
    suite: Suite, case: Case, target: Target, calls: int, seen_too: bool = True
) -> tuple[list[float], list[float], Any]:
    """Seconds of ``calls`` pairs: ``target`` on the inputs it was timed on, then the same
    implementation on inputs converted anew (a prepare step runs before the clock starts);
    the garbage collector off as in the timed rounds. Also the output of the last call on
    the seen inputs. Without ``seen_too``, only the calls on fresh inputs (the output is
    the last of those)."""
    seen: list[float] = []
    fresh: list[float] = []
    out: Any = None
    held: list[PreparedCall] = []  # alive to the end: a freed copy's id could come back
    for _ in range(calls):
        call = prepare(suite, target.call.impl, case)
        held.append(call)
        call.ready()
        new = call.synchronized()
        enabled = gc.isenabled()
        gc.disable()
        try:
            if seen_too:
                start = time.perf_counter()
                out = target()
                seen.append(time.perf_counter() - start)
            start = time.perf_counter()
            answer = new()
            fresh.append(time.perf_counter() - start)
            out = out if seen_too else answer
        finally:
            if enabled:
                gc.enable()
            settle()
    return seen, fresh, out


def caching_suspected(fresh: float, seen: float) -> str:
    """The reason to distrust a timing whose fresh-input calls far exceed the calls on the
    inputs it had seen, or ""."""
    if seen <= 0 or not (fresh > FRESH_RATIO * seen and fresh - seen > FRESH_MIN_EXCESS_S):
        return ""
    return (
        f"a call on fresh copies of its inputs took {fresh / seen:.0f}x one on the inputs it "
        "had seen: the timed calls may have reused a result cached for the same inputs"
    )


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
    from harness.verify import over_cap

    record = _skeleton(suite, impl, case)
    reason = impl.unavailable_reason() or over_cap(suite, impl, case)
    if reason:
        return replace(record, status="skip", reason=reason)
    target = prepare(suite, impl, case).synchronized()
    start = time.perf_counter()
    out = target()
    record = replace(record, first_call_s=time.perf_counter() - start, verdict="pass")
    samples, iterations = run_benchmark(target, target.setup, record.first_call_s)
    settle()
    return check_caching(summarize(record, samples, iterations), suite, case, target, out)


#: (target, setup before each round or None, first-call seconds) -> (samples, iterations)
Runner = Callable[[Callable[[], Any], Callable[[], None] | None, float | None], Any]


def pytest_benchmark_runner(
    fixture: Any, timing: Timing | None = None, compiles: bool = True
) -> Runner:
    """Adapt pytest-benchmark's fixture: raw round durations divided by iterations.

    ``timing`` is the profile's rule (harness.budget.Timing; None: no round budget, as the
    full profile and the gate). A fast stateless call is timed by pytest-benchmark's own
    loop. A call too slow for the round budget gets one warm call when its backend
    ``compiles`` (a first call that only compiled is told apart from a slow one; elsewhere
    the first call is a call like the others), then ``pedantic`` rounds of one call, as many
    as the budget holds. A cell with declared state always runs through ``pedantic``, with
    ``setup`` resetting the state before every round, so every timed call starts from the
    same state.
    """
    rule = timing or Timing(max_time=0.0)

    def run(
        target: Callable[[], Any], setup: Callable[[], None] | None, first: float | None
    ) -> tuple[list[float], int]:
        per_call = first or 0.0
        if compiles and rule.is_slow(per_call):
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
