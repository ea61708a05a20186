"""harness.progress: the status line's content, its throttling, its ETA, and staying quiet."""

from __future__ import annotations

import io
import re

import pytest

from harness.progress import (
    PLAIN_EVERY_S,
    QUIET_ENV,
    Progress,
    clock_text,
    command_clock,
    quiet_requested,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def plain(total: int = 4) -> tuple[Progress, io.StringIO, Clock]:
    stream, clock = io.StringIO(), Clock()
    progress = Progress("verify", total, stream=stream, clock=clock, started=clock.now)
    return progress, stream, clock


def test_plain_lines_say_done_of_total_the_current_step_and_the_times() -> None:
    progress, stream, clock = plain()
    progress.begin("algo/numpy/xp/case_a")
    clock.now += 2
    progress.end()
    clock.now += PLAIN_EVERY_S
    progress.begin("algo/numpy/xp/case_b")
    lines = stream.getvalue().splitlines()
    assert lines[0] == "verify: 0/4 · algo/numpy/xp/case_a · elapsed 0:00 · ETA ?"
    # one step of 2 s done, three left (the one running for 0 s included): 6 s
    assert lines[1] == "verify: 1/4 · algo/numpy/xp/case_b · elapsed 0:07 · ETA 0:06"
    assert "\x1b" not in stream.getvalue()  # piped: no colour codes


def test_piped_lines_are_throttled_but_the_first_and_the_last_always_come() -> None:
    progress, stream, clock = plain(total=50)
    for i in range(50):
        progress.begin(f"cell {i}")
        clock.now += 0.01
        progress.end(ok=i != 3)
    progress.finish()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("verify: 0/50 · cell 0")
    assert lines[1] == "verify: 50/50 done, 1 failed in 0:00"


def test_eta_uses_the_callers_predictions_and_the_average_for_the_rest() -> None:
    progress, _, clock = plain(total=10)
    progress.begin("a")
    clock.now += 3
    progress.end()
    progress.begin("b", estimate=lambda: (100.0, 2))  # 100 s predicted, 2 steps unknown
    assert progress.eta() == pytest.approx(106.0)
    clock.now += 1  # the running step has used one second of it
    assert progress.eta() == pytest.approx(105.0)


def test_the_average_is_per_kind_when_kinds_differ() -> None:
    progress, _, clock = plain(total=4)
    progress.begin("verify base", kind="verify")
    clock.now += 100
    progress.end()
    progress.begin("round 1", kind="round")
    clock.now += 1
    progress.end()
    progress.begin("round 2", kind="round")
    assert progress.eta() == pytest.approx(2.0)  # rounds take 1 s, not the verify's 100


def test_a_terminal_line_is_rewritten_in_place_in_colour_and_fits_the_width() -> None:
    stream, clock = io.StringIO(), Clock()
    progress = Progress(
        "bench", 3, stream=stream, terminal=True, colour=True, clock=clock, started=clock.now
    )
    long = "kmeans_lloyd/python/loops/" + "x" * 200
    progress.begin(long)
    text = progress.line(width=80)
    visible = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert len(visible) <= 79 and visible.endswith("ETA ?") and "…" in visible
    assert "\x1b[" in text  # colour
    progress.end(ok=False)
    progress.finish()
    out = stream.getvalue()
    assert out.startswith("\r\x1b[K") and out.endswith("bench: 1/3 done, 1 failed in 0:00\n")


def test_quiet_by_flag_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(QUIET_ENV, raising=False)
    assert not quiet_requested() and quiet_requested(True)
    monkeypatch.setenv(QUIET_ENV, "0")
    assert not quiet_requested()
    monkeypatch.setenv(QUIET_ENV, "1")
    assert quiet_requested()
    silent = Progress.to_stderr("verify", total=3)
    assert silent.stream is None
    silent.begin("x")
    silent.end()
    silent.finish()  # nothing to write to, nothing raised


def test_a_closed_stream_stops_the_progress_instead_of_failing_the_command() -> None:
    progress, stream, _ = plain()
    stream.close()
    progress.begin("x")  # ValueError: I/O operation on closed file, swallowed
    assert progress.stream is None


def test_the_command_clock_reaches_restarted_workers_and_is_restored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os
    from types import SimpleNamespace

    from harness import progress as module
    from harness.progress import STARTED_ENV, _started_monotonic

    # fixed clocks: the wall clock at 1000 s, this process's monotonic clock at 500 s
    monkeypatch.setattr(
        module, "time", SimpleNamespace(time=lambda: 1000.0, monotonic=lambda: 500.0)
    )
    monkeypatch.delenv(STARTED_ENV, raising=False)
    with command_clock():
        assert float(os.environ[STARTED_ENV]) == 1000.0  # the command's start, for workers
        assert _started_monotonic() == 500.0
        # a worker restarted 60 s into the command starts its clock 60 s back
        monkeypatch.setenv(STARTED_ENV, repr(1000.0 - 60))
        assert _started_monotonic() == 500.0 - 60
    assert STARTED_ENV not in os.environ


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0:00"), (65.4, "1:05"), (3723, "1:02:03"), (float("nan"), "?")]
)
def test_clock_text(seconds: float, text: str) -> None:
    assert clock_text(seconds) == text
