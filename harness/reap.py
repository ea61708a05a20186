"""Processes an implementation starts and leaves running are killed at the end of its cell.

A child left behind would keep a core busy under the next cells' timings, and outlive the
run. The worker notes the processes it has before its first cell; after each cell, every
descendant that was not there before is killed (SIGKILL) and reaped. On Linux the worker
also becomes a "child subreaper", so a process that detached itself by forking twice is
adopted by the worker instead of by init, and is found and killed all the same.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import time
from typing import Any

PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h
REAP_WAIT_S = 2.0


def adopt_orphans() -> bool:
    """Make this process the subreaper of its descendants (Linux); False where it cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _descendants() -> list[Any]:
    try:
        import psutil
    except ImportError:  # a dependency; without it nothing is tracked
        return []
    with contextlib.suppress(psutil.Error):
        return list(psutil.Process().children(recursive=True))
    return []


def _key(process: Any) -> tuple[int, float]:
    try:
        return (process.pid, process.create_time())
    except Exception:  # gone meanwhile
        return (process.pid, 0.0)


class Leftovers:
    """The processes this one had before a cell, to kill those a cell adds."""

    def __init__(self) -> None:
        self.known: set[tuple[int, float]] | None = None

    def begin(self) -> None:
        """Before a cell: the first time, note what already runs (started at import)."""
        if self.known is None:
            self.known = {_key(p) for p in _descendants()}

    def end(self) -> list[str]:
        """After a cell: kill and reap what it left running; their names, as 'sleep (pid)'."""
        try:
            import psutil
        except ImportError:
            return []
        current = _descendants()
        known = self.known or set()
        new = [p for p in current if _key(p) not in known]
        killed = []
        for process in new:
            with contextlib.suppress(psutil.Error):
                name = process.name()
                process.kill()
                killed.append(f"{name} ({process.pid})")
        reap_killed([p.pid for p in new])
        self.known = {_key(p) for p in current if p not in new}
        return killed


def reap_killed(pids: list[int]) -> None:
    """Collect the exit of the killed processes that are this one's children, so none stays
    a zombie; the others are reaped by their parents (or, orphaned, adopted and reaped at
    a later cell's end)."""
    deadline = time.monotonic() + REAP_WAIT_S
    pending = set(pids)
    while pending and time.monotonic() < deadline:
        for pid in list(pending):
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    pending.discard(pid)
            except ChildProcessError:  # not ours
                pending.discard(pid)
        if pending:
            time.sleep(0.01)
