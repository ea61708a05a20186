"""A process an implementation starts and leaves running is killed at the end of its cell;
what ran before the cell (started at import, by the harness) is left alone."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.results import Run
from harness.watch import Watch

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs /proc")


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_children_a_cell_leaves_running_are_killed_at_its_end() -> None:
    watch, run = Watch(), Run(command="", profile=None, threads={})
    cell: Any = SimpleNamespace(id="algo/numpy/x/case")
    started: list[subprocess.Popen[bytes]] = []
    earlier = subprocess.Popen(["sleep", "1000"])  # before the first cell: not the cell's
    try:
        with watch.running(cell, run):
            started.append(subprocess.Popen(["sleep", "1000"]))
            started.append(subprocess.Popen(["sleep", "1000"]))
        assert [alive(p.pid) for p in started] == [False, False]
        assert alive(earlier.pid)
        with watch.running(cell, run):  # a later cell that starts nothing kills nothing
            pass
        assert alive(earlier.pid)
    finally:
        for process in [earlier, *started]:
            process.kill()
            process.wait()


def test_a_cell_that_raises_still_has_its_children_killed() -> None:
    watch, run = Watch(), Run(command="", profile=None, threads={})
    cell: Any = SimpleNamespace(id="algo/numpy/x/case")
    started: list[subprocess.Popen[bytes]] = []
    watch.record = lambda *args: None  # type: ignore[method-assign]  # no real cell to record
    try:
        with pytest.raises(RuntimeError), watch.running(cell, run):
            started.append(subprocess.Popen(["sleep", "1000"]))
            raise RuntimeError("boom")
        assert not alive(started[0].pid)
    finally:
        for process in started:
            process.kill()
            process.wait()
