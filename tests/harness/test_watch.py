"""Tests of harness.watch: time predictions, budget skips, records of lost cells, resuming."""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import pytest

from harness.budget import BENCH_EXTRA_CALLS
from harness.registry import Implementation
from harness.results import Run
from harness.selection import Cell
from harness.spec import Case, Suite
from harness.supervise import Link, timeout_detail
from harness.watch import (
    CallClock,
    Watch,
    cell_seconds,
    floor_seconds,
    predict_call_seconds,
    record_id,
    skip_reason,
    unrun_records,
)

MakeImpl = Callable[..., Implementation]


def cell(suite: Suite, impl: Implementation, n: int, mode: str = "bench", name: str = "") -> Cell:
    return Cell(mode, suite, impl, Case(name or f"n{n}", {"n": n, "seed": 1}))


# ---- the pure predictions -------------------------------------------------------------------


def test_nothing_smaller_measured_means_no_prediction() -> None:
    assert predict_call_seconds([], 1e6) is None
    assert predict_call_seconds([(1e6, 1.0), (2e6, 2.0)], 1e6) is None  # equal or larger only
    assert predict_call_seconds([(0.0, 0.5), (1e3, 0.0)], 1e6) is None  # no usable rate


def test_time_scales_with_flops_at_the_fastest_rate_seen() -> None:
    # 1e3 flops in 1 ms is 1e-6 s/flop; the 1e4-flop call (a compile, say) is slower per
    # flop and must not make the prediction longer.
    history = [(1e4, 1e-2), (1e5, 50.0), (2e5, 4.0)]
    assert predict_call_seconds(history, 1e6) == pytest.approx(1.0)
    assert predict_call_seconds([(1e3, 2e-3)], 4e3) == pytest.approx(8e-3)


def test_cases_far_smaller_are_not_extrapolated_from() -> None:
    # a 10 ms fixed overhead at 1e3 flops would predict 10 s at 1e6: too far to trust
    assert predict_call_seconds([(1e3, 1e-2)], 1e6) is None
    assert predict_call_seconds([(1e3, 1e-2), (2e4, 2e-2)], 1e6) == pytest.approx(1.0)


def test_cell_seconds_counts_every_call_of_the_cell() -> None:
    assert cell_seconds(2.0, "verify", 5, 0.5) == 2.0
    # slow calls: the first, pytest-benchmark's extra calls, then the minimum rounds
    assert cell_seconds(2.0, "bench", 5, 0.5) == pytest.approx((1 + BENCH_EXTRA_CALLS) * 2 + 10)
    # fast calls: rounds fill max_time
    assert cell_seconds(1e-3, "bench", 5, 0.5) == pytest.approx(
        0.5 + (1 + BENCH_EXTRA_CALLS) * 1e-3
    )
    # with a round budget a slow call gets the first call, one warm call, then as many
    # rounds as the budget holds, at least 3 (2 s calls: 3 rounds), and the caching check's
    # one call on fresh inputs
    assert cell_seconds(2.0, "bench", 5, 0.5, round_budget=1.0) == pytest.approx(2 + 2 + 3 * 2 + 2)
    # a call the budget holds 4 rounds of (0.12 s: pytest-benchmark would take 0.96 s)
    assert cell_seconds(0.12, "bench", 5, 0.1, round_budget=0.5) == pytest.approx(0.12 * 7)
    # a call fast enough for pytest-benchmark's own loop within the budget: unchanged
    assert cell_seconds(1e-3, "bench", 5, 0.1, round_budget=0.5) == pytest.approx(
        0.1 + (1 + BENCH_EXTRA_CALLS) * 1e-3
    )


def test_a_timeout_is_a_lower_bound_for_cases_at_least_as_big() -> None:
    floors = [(1e6, 3.0)]
    assert floor_seconds(floors, 1e6) == pytest.approx(3.0)
    assert floor_seconds(floors, 4e6) == pytest.approx(12.0)
    assert floor_seconds(floors, 1e5) is None


@pytest.mark.parametrize(
    ("predicted", "budget", "text"),
    [
        (84.2345, 30.0, "skipped: predicted 84.2 s > budget 30 s"),
        (1234.5, 60.0, "skipped: predicted 1230 s > budget 60 s"),
        (99.96, 2.5, "skipped: predicted 100 s > budget 2.5 s"),
        (0.0012345, 0.001, "skipped: predicted 0.00123 s > budget 0.001 s"),
        (4.5, 3.0, "skipped: predicted 4.50 s > budget 3 s"),
    ],
)
def test_skip_reason_gives_three_significant_digits(
    predicted: float, budget: float, text: str
) -> None:
    assert skip_reason(predicted, budget) == text


# ---- Watch ----------------------------------------------------------------------------------


def test_over_budget_skips_a_big_case_predicted_from_a_small_one(
    suite: Suite, make_impl: MakeImpl
) -> None:
    impl = make_impl()
    watch = Watch(budget=3.0, min_rounds=5, max_time=0.5)
    watch.observe(cell(suite, impl, 1000), 0.01)  # 1e-5 s per flop
    assert watch.over_budget(cell(suite, impl, 10_000)) is None  # 0.1 s a call: 1.6 s a cell
    reason = watch.over_budget(cell(suite, impl, 100_000))  # 1 s a call: 6 + 5 s
    assert reason == "skipped: predicted 11.0 s > budget 3 s"
    assert watch.over_budget(cell(suite, impl, 100_000, mode="verify")) is None  # one call
    assert Watch(budget=None).over_budget(cell(suite, impl, 100_000)) is None
    other = make_impl(variant="other")
    assert watch.over_budget(cell(suite, other, 100_000)) is None  # its own history only


def test_declared_reasons_win_over_predictions(suite: Suite, make_impl: MakeImpl) -> None:
    watch = Watch(budget=1.0)
    capped = make_impl(max_flops=10_000.0)
    watch.observe(cell(suite, capped, 1000), 1.0)
    assert watch.over_budget(cell(suite, capped, 100_000)) is None  # the size cap says why
    missing = make_impl(variant="needs", requires=("module_that_is_not_there",))
    watch.observe(cell(suite, missing, 1000), 1.0)
    assert watch.over_budget(cell(suite, missing, 100_000)) is None
    error_case = Cell("verify", suite, make_impl(), suite.error_cases[0])
    assert watch.over_budget(error_case) is None


def test_unrun_records_in_verify_and_bench(suite: Suite, make_impl: MakeImpl) -> None:
    impl = make_impl()
    verdict, measurement = unrun_records(cell(suite, impl, 64, "verify"), "error", "crashed: x")
    assert measurement is None
    assert (verdict["status"], verdict["detail"], verdict["case"]) == ("error", "crashed: x", "n64")
    assert "--variant test --case n64" in verdict["repro"]
    verdict, measurement = unrun_records(cell(suite, impl, 64), "skip", "skipped: predicted")
    assert measurement is not None
    assert (measurement["status"], measurement["reason"]) == ("skip", "skipped: predicted")
    assert measurement["verdict"] == "skip" and measurement["samples"] == []
    assert measurement["flops"] == 64 and record_id(measurement) == record_id(verdict)
    fuzz, none = unrun_records(Cell("fuzz", suite, impl, None), "error", "crashed: y", (25, 7))
    assert none is None and record_id(fuzz) == Cell("fuzz", suite, impl, None).id
    assert fuzz["repro"].endswith("--variant test --fuzz 25 --fuzz-seed 7")


def test_running_records_an_escaped_system_exit_once(suite: Suite, make_impl: MakeImpl) -> None:
    run, watch, c = Run("t", None, {}), Watch(), cell(suite, make_impl(), 8, "verify")
    with pytest.raises(SystemExit), watch.running(c, run):
        raise SystemExit(3)
    assert [(v["status"], v["detail"]) for v in run.verdicts] == [("error", "raised SystemExit: 3")]
    assert c.id in watch.done
    recorded = cell(suite, make_impl(), 16, "verify")
    with pytest.raises(RuntimeError), watch.running(recorded, run):
        run.verdicts.append({"status": "pass"})
        raise RuntimeError("after the verdict")
    assert len(run.verdicts) == 2  # the cell had its verdict: no second one


def test_running_sends_heartbeats(suite: Suite, make_impl: MakeImpl) -> None:
    read_fd, write_fd = os.pipe()
    try:
        watch = Watch(timeout=7.0, link=Link(write_fd))
        c = cell(suite, make_impl(), 8, "verify")
        with watch.running(c, Run("t", None, {})):
            pass
        lines = os.read(read_fd, 4096).decode().splitlines()
    finally:
        os.close(read_fd)
        os.close(write_fd)
    assert [json.loads(x) for x in lines] == [{"start": c.id, "timeout": 7.0}, {"end": c.id}]


def test_resume_marks_done_records_the_lost_cell_and_keeps_timings(
    suite: Suite, make_impl: MakeImpl
) -> None:
    impl = make_impl()
    small, big, lost, hung = (cell(suite, impl, n) for n in (100, 100_000, 200, 1000))
    run = Run("t", "quick", {})
    for done, status, detail in ((small, "pass", ""), (hung, "error", timeout_detail(4.0, 4))):
        verdict, measurement = unrun_records(done, status, detail)
        assert measurement is not None
        measurement.update(status="ok" if status == "pass" else status, median_s=1e-3)
        run.verdicts.append(verdict)
        run.measurements.append(measurement)
    watch = Watch(budget=30.0, min_rounds=5, max_time=0.5)
    cells = [small, lost, hung, big]
    watch.resume(run, cells, {"cell": lost.id, "detail": "crashed: killed by SIGSEGV (signal 11)"})
    assert watch.pending(cells) == [big]
    assert run.verdicts[-1]["detail"] == "crashed: killed by SIGSEGV (signal 11)"
    assert run.measurements[-1]["status"] == "error"
    # the timeout at 1000 flops (4 s) bounds the 100k case at 400 s, over the budget
    assert watch.over_budget(big) == "skipped: predicted 400 s > budget 30 s"
    assert watch.calls[impl.key] == [(100.0, 1e-3)]
    watch.resume(run, cells, {"cell": lost.id, "detail": "again"})  # already recorded
    assert sum(v["case"] == "n200" for v in run.verdicts) == 1


def test_call_clock_times_the_call() -> None:
    clock = CallClock()
    assert clock(lambda: 42) == 42
    assert clock.seconds is not None and clock.seconds >= 0


# ---- progress -------------------------------------------------------------------------------


def test_the_estimate_predicts_cells_with_history_and_counts_the_others(
    suite: Suite, make_impl: MakeImpl
) -> None:
    import io

    from harness.progress import Progress

    impl, other = make_impl(), make_impl(variant="other")
    watch = Watch(budget=5.0, min_rounds=5, max_time=0.5)
    small, big, huge = (cell(suite, impl, n, mode="verify") for n in (1000, 10_000, 10**6))
    watch.follow(
        Progress("verify", stream=io.StringIO()), [small, big, huge, cell(suite, other, 1)]
    )
    watch.observe(small, 0.01)  # 1e-5 s per flop
    watch.done.add(small.id)
    seconds, unknown = watch.remaining()
    # big: 0.1 s predicted; huge is too far to extrapolate and other has no history: unknown
    assert seconds == pytest.approx(0.1) and unknown == 2
    watch.observe(big, 0.1)
    watch.done.add(big.id)
    assert watch.predict(impl.key, 1e6, "verify") == pytest.approx(10.0)
    # over the budget: it will be skipped, so it costs nothing
    assert watch.remaining() == (0.0, 1)


def test_each_running_cell_is_shown_and_counted_with_its_failures(
    suite: Suite, make_impl: MakeImpl
) -> None:
    import io

    from harness.progress import Progress

    stream = io.StringIO()
    impl = make_impl()
    cells = [cell(suite, impl, n, mode="verify") for n in (10, 20, 30)]
    watch = Watch()
    watch.done.add(cells[0].id)  # recorded by an earlier worker
    watch.follow(Progress("verify", stream=stream), cells)
    run = Run(command="x", profile=None, threads={})
    with watch.running(cells[1], run):
        run.verdicts.append({"status": "fail"})
    watch.finished()
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith(f"verify: 1/3 · {cells[1].id} · elapsed")
    assert lines[-1].startswith("verify: 2/3 done, 1 failed in ")
