"""Tests of harness.supervise: the texts of lost cells, and a worker watched through its pipe."""

from __future__ import annotations

import re
import signal
import sys
import time

import pytest

from harness.supervise import (
    TIMED_OUT,
    Worker,
    _worker_env,
    crash_detail,
    innermost_frame,
    memory_detail,
    seconds_text,
    timeout_detail,
    user_argv,
)


def test_crash_and_timeout_texts() -> None:
    assert crash_detail(-11) == "crashed: killed by SIGSEGV (signal 11)"
    assert crash_detail(-9) == "crashed: killed by SIGKILL (signal 9)"
    assert crash_detail(3) == "crashed: exited with status 3"
    text = timeout_detail(3.0412, 3.0)
    assert text == "timed out after 3.04 s (--cell-timeout 3 s)"
    match = TIMED_OUT.match(text)
    assert match is not None and float(match[1]) == 3.04


@pytest.mark.parametrize(
    ("seconds", "text"), [(84.23, "84.2"), (1234.5, "1230"), (99.96, "100"), (0.5, "0.500")]
)
def test_seconds_text(seconds: float, text: str) -> None:
    assert seconds_text(seconds) == text


def test_innermost_frame_names_the_culprit_not_the_library() -> None:
    library = f"{sys.modules['json'].__file__}"  # a file of the standard library
    dump = [
        "Fatal Python error: Segmentation fault",
        "",
        "Thread 0x00007f0000000001 (most recent call first):",
        '  File "/elsewhere/pool.py", line 9 in worker',
        "",
        "Current thread 0x00007f0000000002 (most recent call first):",
        f'  File "{library}", line 518 in string_at',
        '  File "/home/me/my_iou.py", line 31 in segfault',
        '  File "/home/me/harness/verify.py", line 150 in __call__',
        "",
        "Extension modules: numpy.core._multiarray_umath (total: 1)",
    ]
    assert innermost_frame(dump) == " in segfault (my_iou.py, line 31)"
    assert innermost_frame(dump[:2]) == ""
    assert innermost_frame([]) == ""


def test_user_argv_drops_the_supervisors_options() -> None:
    argv = ["verify", "-a", "x", "--shootout-worker", "5", "--shootout-resume=r.json", "--json"]
    assert user_argv(argv) == ["verify", "-a", "x", "--json"]


# ---- a worker and its pipe ------------------------------------------------------------------

FAKE_WORKER = """
import ctypes, sys, time
from harness.supervise import Link

link = Link(int(sys.argv[2]))
link.take_over()
link.send(results="run.json")
link.send(start="a/numpy/v/first", timeout=30)
link.send(end="a/numpy/v/first")
if "{mode}" == "segfault":
    link.send(start="a/numpy/v/second", timeout=30)
    ctypes.string_at(0)
elif "{mode}" == "hang":
    link.send(start="a/numpy/v/second", timeout=0.5)
    while True:
        pass
elif "{mode}" in ("hog", "child_hog"):
    from harness.memory import resident_bytes
    limit = {{"limit": 50 * 2**20, "text": "50M", "base": resident_bytes()}}
    link.send(start="a/numpy/v/second", timeout=30, memory=limit)
    if "{mode}" == "hog":
        held = b"x" * (200 * 2**20)  # written, so resident
    else:  # the memory of a process the cell started counts too
        import subprocess
        grow = "import time; held = b'x' * (200 * 2**20); time.sleep(30)"
        subprocess.Popen([sys.executable, "-c", grow])
    time.sleep(30)
elif "{mode}" == "wait":
    try:  # SIGINT may arrive as soon as the supervisor has read this
        link.send(start="a/numpy/v/second", timeout=30)
        time.sleep(30)
    except KeyboardInterrupt:
        sys.exit(130)
sys.exit(1)
"""


def worker(mode: str) -> Worker:
    return Worker([sys.executable, "-c", FAKE_WORKER.format(mode=mode)], _worker_env())


def test_a_worker_that_finishes_ends_between_cells() -> None:
    w = worker("finish")
    ending = w.wait()
    w.close()
    assert (ending.code, ending.cell, w.results) == (1, None, "run.json")


def test_a_crash_is_charged_to_the_running_cell_with_where_it_happened() -> None:
    w = worker("segfault")
    ending = w.wait()
    w.close()
    assert (ending.code, ending.cell) == (-signal.SIGSEGV, "a/numpy/v/second")
    assert ending.detail.startswith("crashed: killed by SIGSEGV (signal 11) in <module> (<string>")


def test_a_cell_past_its_timeout_is_killed_and_says_where_it_was() -> None:
    w = worker("hang")
    ending = w.wait()
    w.close()
    assert ending.cell == "a/numpy/v/second" and w.proc.returncode == -signal.SIGKILL
    # killed once past its timeout, never before (how long after depends on the load)
    found = TIMED_OUT.match(ending.detail)
    assert found is not None and float(found[1]) >= 0.5, ending.detail
    where = r"\(--cell-timeout 0.5 s\) in <module> \(<string>, line 1[56]\)"  # either loop line
    assert re.search(where + "$", ending.detail), ending.detail


@pytest.mark.parametrize("mode", ["hog", "child_hog"])
def test_a_cell_past_its_memory_limit_is_stopped_and_says_by_how_much(mode: str) -> None:
    w = worker(mode)
    ending = w.wait()
    w.close()
    assert ending.cell == "a/numpy/v/second" and w.proc.returncode == -signal.SIGKILL
    found = re.fullmatch(
        r"exceeded --cell-memory 50M: ([0-9.]+) MiB resident above the worker's [0-9.]+ MiB "
        r"at the cell's start",
        ending.detail,
    )
    assert found is not None, ending.detail
    assert float(found[1]) > 50


def test_memory_texts() -> None:
    assert memory_detail("1G", 1536 * 2**20, 2**29) == (
        "exceeded --cell-memory 1G: 1536 MiB resident above the worker's 512 MiB at the "
        "cell's start"
    )


def test_an_interrupted_worker_is_asked_to_stop() -> None:
    w = worker("wait")
    deadline = time.monotonic() + 120  # a guard against a hang, not a bound
    while w.cell != "a/numpy/v/second" and time.monotonic() < deadline:
        w._read(0.1)
    assert w.interrupt() is True
    w.close()
    assert w.proc.returncode == 130
