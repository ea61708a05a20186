"""SIGHUP (the terminal closed) stops a supervised run like SIGTERM, unless the command was
started with SIGHUP ignored (nohup), which it then respects."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from harness.supervise import EXIT_INTERRUPTED, supervise

# A stand-in worker: it hangs up on its supervisor (as a closing terminal would), then
# would finish cleanly a moment later if nothing stopped it, saying it had nothing to run.
HANG_UP = (
    "import os, signal, sys, time; os.kill(os.getppid(), signal.SIGHUP); time.sleep(1); "
    "os.write(int(sys.argv[-1]), b'{\"empty\": true}\\n')"
)

pytestmark = pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread() or sys.platform == "win32",
    reason="signal handlers need the main thread of a POSIX process",
)


@pytest.fixture
def hup_disposition() -> Iterator[None]:
    previous = signal.getsignal(signal.SIGHUP)
    yield
    signal.signal(signal.SIGHUP, previous)


def test_sighup_interrupts_the_run_like_sigterm(hup_disposition: None, tmp_path: Path) -> None:
    reached: list[int] = []

    def outer(signum: int, frame: FrameType | None) -> None:
        reached.append(signum)

    signal.signal(signal.SIGHUP, outer)
    code = supervise([], keeps_results=False, command=[sys.executable, "-c", HANG_UP])
    assert code == EXIT_INTERRUPTED
    assert reached == []  # the supervisor handled it itself
    assert signal.getsignal(signal.SIGHUP) is outer  # and put the previous handler back


def test_under_nohup_sighup_stays_ignored(hup_disposition: None) -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    code = supervise([], keeps_results=False, command=[sys.executable, "-c", HANG_UP])
    assert code == 0  # the worker finished: the hang-up was ignored, as nohup asked
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
