"""Progress on stderr for long commands: steps done of total, the current one, elapsed, ETA.

On a terminal it is one line rewritten in place, in colour; piped (a CI log, ``2> file``)
it is plain lines, at most one every ``PLAIN_EVERY_S`` seconds and always one at the start
and the end. It never writes to stdout, which carries the tables and JSON. ``--quiet`` or
``SHOOTOUT_QUIET=1`` silences it; ``NO_COLOR`` (https://no-color.org) or ``TERM=dumb``
keep a terminal plain.

The ETA is the caller's prediction for the steps left where it has one (verify and bench
extrapolate from the same implementation's smaller cases, harness.watch), and the average
time of the steps done so far for the rest. Rendering is lazy and throttled, so the
prediction is computed only when a line is about to be written. The worker of a command
may be restarted after a crash; the command's start time travels in ``SHOOTOUT_STARTED``
so its successor's elapsed time continues instead of restarting at zero.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

QUIET_ENV = "SHOOTOUT_QUIET"
STARTED_ENV = "SHOOTOUT_STARTED"
PLAIN_EVERY_S = 5.0  # piped: at most one line this often (besides the first and the last)
TERMINAL_EVERY_S = 0.1  # a terminal: at most this often
_BOLD, _CYAN, _RED, _DIM, _RESET = "\x1b[1m", "\x1b[36m", "\x1b[31m", "\x1b[2m", "\x1b[0m"

#: Seconds predicted for the steps left (those with a prediction), and how many have none.
Estimate = tuple[float, int]


def add_quiet_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help=f"no progress on stderr (also: {QUIET_ENV}=1)",
    )


def quiet_requested(flag: bool = False) -> bool:
    """``--quiet``, or ``SHOOTOUT_QUIET`` set to anything but empty or 0."""
    return flag or os.environ.get(QUIET_ENV, "") not in ("", "0")


def clock_text(seconds: float) -> str:
    """1:05 (minutes:seconds), 1:02:03 past an hour; '?' for what is not a finite duration."""
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@contextlib.contextmanager
def command_clock() -> Iterator[None]:
    """Around a supervised command: its workers (started with this environment) measure
    elapsed time from here, the restarted ones included."""
    previous = os.environ.get(STARTED_ENV)
    os.environ[STARTED_ENV] = repr(time.time())
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(STARTED_ENV, None)
        else:
            os.environ[STARTED_ENV] = previous


def _started_monotonic() -> float:
    """The command's start on this process's monotonic clock (now when not told)."""
    now = time.monotonic()
    try:
        started = float(os.environ.get(STARTED_ENV, ""))
    except ValueError:
        return now
    ago = time.time() - started
    return now - ago if 0 <= ago < 7 * 86400 else now


def _stderr_copy() -> TextIO | None:
    """A stream on a duplicate of file descriptor 2: pytest's output capture replaces fd 2
    while cells run, and this copy still reaches the user's terminal or log."""
    try:
        return os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="replace")
    except OSError:
        return None


@dataclass
class Progress:
    """Steps of one command: ``begin`` each, ``end`` it, ``finish`` the command."""

    command: str
    total: int = 0
    done: int = 0
    stream: TextIO | None = None
    terminal: bool = False
    colour: bool = False
    started: float = field(default_factory=time.monotonic)
    clock: Callable[[], float] = time.monotonic
    failed: int = 0
    planned: bool = False  # total given up front: stages do not add to it
    current: str = ""
    _estimate: Callable[[], Estimate] | None = None
    _step_started: float = 0.0
    _spent: dict[str, list[float]] = field(default_factory=dict)
    _kind: str = ""
    _last_line: float = -math.inf
    _open_line: bool = False

    @classmethod
    def to_stderr(
        cls, command: str, total: int = 0, done: int = 0, quiet: bool = False
    ) -> Progress:
        """Progress for a command run by a person: stderr, plain when piped; silent when
        asked to be (the returned object then does nothing)."""
        if quiet_requested(quiet):
            return cls(command, total, done, planned=total > 0)
        stream = _stderr_copy()
        terminal = bool(stream is not None and stream.isatty())
        dumb = os.environ.get("TERM") == "dumb"
        colour = terminal and not dumb and "NO_COLOR" not in os.environ
        progress = cls(
            command,
            total,
            done,
            stream=stream,
            terminal=terminal and not dumb,
            colour=colour,
            started=_started_monotonic(),
            planned=total > 0,
        )
        if progress.terminal:  # an exit with the status line open ends it first
            atexit.register(progress.close_line)
        return progress

    # ---- the caller's side -------------------------------------------------------------

    def expect(self, steps: int) -> None:
        """A stage of ``steps`` more steps begins (nothing when the total was planned)."""
        if not self.planned:
            self.total += steps

    def begin(
        self, label: str, estimate: Callable[[], Estimate] | None = None, kind: str = ""
    ) -> None:
        """Step ``label`` starts; ``estimate`` predicts the steps left, this one included."""
        self.current, self._estimate, self._kind = label, estimate, kind
        self._step_started = self.clock()
        self._render()

    def end(self, ok: bool = True) -> None:
        spent = self.clock() - self._step_started
        self._spent.setdefault(self._kind, []).append(spent)
        self.done += 1
        self.failed += not ok
        self.current = ""

    def note(self, message: str) -> None:
        """A line that is not a step (e.g. measuring the machine first)."""
        self._write(f"{self.command}: {message}", final=True)

    def close_line(self) -> None:
        if self._open_line and self.stream is not None:
            with contextlib.suppress(OSError, ValueError):
                self.stream.write("\n")
                self.stream.flush()
            self._open_line = False

    def finish(self) -> None:
        """The last line: how many steps, how long."""
        if self.stream is None:
            return
        failed = f", {self.failed} failed" if self.failed else ""
        text = (
            f"{self.command}: {self.done}/{self.total} done{failed} "
            f"in {clock_text(self.clock() - self.started)}"
        )
        self._write(text, final=True)

    # ---- rendering ---------------------------------------------------------------------

    def eta(self) -> float | None:
        """Seconds left: predictions where the caller has them, the average step so far
        (of the same kind when there is one) for the rest; None before anything is known."""
        left = max(self.total - self.done, 0)
        predicted, unknown = self._estimate() if self._estimate is not None else (0.0, left)
        same = self._spent.get(self._kind) or [s for v in self._spent.values() for s in v]
        if unknown and not same:
            return None if predicted == 0 else predicted
        average = sum(same) / len(same) if same else 0.0
        running = self.clock() - self._step_started if self.current else 0.0
        return max(predicted + unknown * average - running, 0.0)

    def line(self, width: int | None = None) -> str:
        """The status line; within ``width`` columns by shortening the current step's name
        from the left (its tail, the case, says most)."""
        elapsed = clock_text(self.clock() - self.started)
        eta = self.eta()
        current = self.current
        parts = [f"{self.done}/{self.total}"]
        if self.failed:
            parts.append(f"{self.failed} failed")
        tail = [f"elapsed {elapsed}", f"ETA {clock_text(eta) if eta is not None else '?'}"]
        if current:
            plain = len(f"{self.command}: " + " · ".join([*parts, current, *tail]))
            excess = plain - (width - 1) if width else 0
            if excess > 0:
                current = "…" + current[min(excess + 1, len(current)) :]
            parts.append(current)
        parts += tail
        if not self.colour:
            return f"{self.command}: " + " · ".join(parts)
        coloured = [f"{_BOLD}{_CYAN}{parts[0]}{_RESET}"]
        for part in parts[1:]:
            if part.endswith("failed"):
                coloured.append(f"{_RED}{part}{_RESET}")
            elif part == current:
                coloured.append(part)
            else:
                coloured.append(f"{_DIM}{part}{_RESET}")
        return f"{_BOLD}{self.command}{_RESET} " + " · ".join(coloured)

    def _render(self) -> None:
        """The status line, unless one was written less than the interval ago (the first
        always is)."""
        if self.stream is None:
            return
        every = TERMINAL_EVERY_S if self.terminal else PLAIN_EVERY_S
        now = self.clock()
        if now - self._last_line < every:
            return
        self._last_line = now
        width = _columns(self.stream) if self.terminal else None
        self._write(self.line(width), final=False)

    def _write(self, text: str, final: bool) -> None:
        if self.stream is None:
            return
        try:
            if self.terminal:
                width = _columns(self.stream)
                shown = text if final or width is None else _clip(text, width)
                self.stream.write("\r\x1b[K" + shown + ("\n" if final else ""))
                self._open_line = not final
            else:
                self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # the terminal or the pipe is gone: stop talking
            self.stream = None


def _columns(stream: TextIO) -> int | None:
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError):
        return None
    return columns if columns > 0 else None  # 0: a pseudo-terminal that does not say


def _clip(text: str, width: int) -> str:
    """What fits one terminal row, counting only visible characters (not colour codes),
    so the rewritten line never wraps; the full text is the caller's to print elsewhere."""
    out, visible, i = [], 0, 0
    while i < len(text):
        if text[i] == "\x1b":
            end = text.find("m", i)
            end = len(text) - 1 if end < 0 else end
            out.append(text[i : end + 1])
            i = end + 1
            continue
        if visible >= width - 1:
            out.append(_RESET if "\x1b" in text else "")
            break
        out.append(text[i])
        visible += 1
        i += 1
    return "".join(out)
