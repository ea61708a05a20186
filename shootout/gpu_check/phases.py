"""Running one phase of the GPU check as a subprocess, inside its share of the time budget.

A phase's output goes to its log file. When the phase outlives its time, its process group
gets SIGTERM (a supervised ``shootout verify`` then saves what it has), then SIGKILL after
a grace period. ``poll`` lets the caller stop it earlier (a hung cell): it returns the
reason, and the group is killed at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

GRACE_S = 10.0
POLL_S = 0.25


@dataclass
class PhaseResult:
    """How a phase ended: ok, skipped, timed out, failed (with the reason) and how long."""

    name: str
    status: str
    seconds: float = 0.0
    returncode: int | None = None
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Ended:
    returncode: int | None
    seconds: float
    stopped: str = ""  # why it was stopped: "" (it ended by itself), "deadline" or poll's reason


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # gone, or never ours
        os.killpg(proc.pid, sig)


def run(
    command: Sequence[str],
    *,
    log: Path,
    timeout: float,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    poll: Callable[[], str | None] | None = None,
    grace: float = GRACE_S,
) -> Ended:
    """Run ``command`` in its own process group, its output appended to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with log.open("ab") as sink:
        sink.write(f"$ {' '.join(command)}\n".encode())
        sink.flush()
        proc = subprocess.Popen(
            list(command),
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        stopped = ""
        while True:
            try:
                code = proc.wait(timeout=POLL_S)
                return Ended(code, time.monotonic() - start)
            except subprocess.TimeoutExpired:
                pass
            reason = poll() if poll is not None else None
            if reason:
                stopped = reason
                _signal_group(proc, signal.SIGKILL)
                break
            if time.monotonic() - start > timeout:
                stopped = "deadline"
                _signal_group(proc, signal.SIGTERM)
                try:
                    proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    _signal_group(proc, signal.SIGKILL)
                break
        code = proc.wait()
        return Ended(code, time.monotonic() - start, stopped)


def tail(log: Path, lines: int = 5) -> str:
    """The last lines of a log, joined by " | " (for a one-line reason)."""
    try:
        text = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text[-lines:] if line.strip())
