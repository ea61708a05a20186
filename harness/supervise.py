"""The supervisor: verify and bench run in a worker process, so a cell that crashes or hangs
costs its own verdict and nothing else.

The worker is the same command line started again with ``--shootout-worker FD``. On that
pipe it writes one JSON object per line:

    {"results": PATH, "run": ID}          the results file, saved before any cell runs
    {"start": CELL, "timeout": SECONDS}   a cell begins: the supervisor's clock starts
    {"end": CELL}                         the cell is recorded
    {"exit": STATUS}                      the command is over: STATUS is the run's

and Python's faulthandler writes its stack dumps there too: on a fatal signal, and on
SIGUSR1, which the supervisor sends to a cell that outlives its timeout before it kills the
worker's process group. After a worker dies during a cell, or is killed, a new worker
continues the same results file (``--shootout-resume``) if it still holds the same run
(``--shootout-run``): it first records the lost cell as an error (``--shootout-lost``), then
runs only the cells not recorded yet. A worker that ends between cells without saying
``exit`` (``os._exit`` or ``sys.exit`` from an implementation's thread, or after its cell)
did not finish: a new worker continues with the cells not recorded yet, and the run fails
whatever their verdicts. When such a worker had recorded nothing new since the last one,
the cells left are recorded as errors instead. Whatever a worker leaves running in its
process group is killed when it ends, and SIGHUP (the terminal closed) stops the run like
SIGTERM, so no process of the run outlives the command.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import select
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.numbers import positive_seconds

ROOT = Path(__file__).resolve().parent.parent
HIDDEN_OPTIONS = (
    "--shootout-worker",
    "--shootout-resume",
    "--shootout-lost",
    "--shootout-results",
    "--shootout-run",
)
EXIT_USAGE, EXIT_INTERRUPTED = 2, 130
DEFAULT_BUDGET_S = 60.0
DEFAULT_TIMEOUT_S = {"verify": 120.0, "bench": 300.0}
POLL_S = 0.25  # how often a silent worker is checked for having died
MEMORY_POLL_S = 0.05  # how often a cell's resident memory is checked under --cell-memory
GRACE_S = 5.0  # how long an interrupted worker has to save its results and exit
STACK_WAIT_S = 1.0  # how long a timed-out worker has to dump its stack
TIMED_OUT = re.compile(r"^timed out after ([0-9.]+) s")
_FRAME = re.compile(r'^\s*File "(?P<path>.+)", line (?P<line>\d+) in (?P<func>\S+)')
_LIBRARY_DIRS = tuple(
    {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
)


def seconds_text(seconds: float) -> str:
    """Three significant digits, never in exponent notation: 84.2, 1230, 0.00123."""
    if seconds <= 0 or not math.isfinite(seconds):
        return f"{seconds:g}"
    value = seconds
    for _ in range(2):  # twice: rounding 99.96 to 100.0 moves it up a decade
        decimals = 2 - math.floor(math.log10(value))
        value = round(seconds, decimals)
    return f"{value:.{max(decimals, 0)}f}"


def crash_detail(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "a signal"
        return f"crashed: killed by {name} (signal {-code})"
    return f"crashed: exited with status {code}"


def timeout_detail(elapsed: float, limit: float) -> str:
    return f"timed out after {seconds_text(elapsed)} s (--cell-timeout {limit:g} s)"


def memory_detail(text: str, used: int, base: int) -> str:
    from harness.memory import mib

    return (
        f"exceeded --cell-memory {text}: {mib(used):g} MiB resident above the worker's "
        f"{mib(base):g} MiB at the cell's start"
    )


def innermost_frame(dump: list[str]) -> str:
    """Where a faulthandler dump says the current thread was, as ' in fn (file.py, line N)'.

    The innermost frame outside Python's own and installed libraries is the one that
    names the culprit (``ctypes.string_at`` is not); the innermost of all when none is.
    """
    heads = [i for i, line in enumerate(dump) if "most recent call first" in line]
    current = [i for i in heads if dump[i].startswith("Current thread")]
    if not heads:
        return ""
    frames = []
    for line in dump[(current or heads)[0] + 1 :]:
        match = _FRAME.match(line)
        if match is None:
            break
        frames.append(match)
    if not frames:
        return ""
    own = [m for m in frames if not m["path"].startswith(_LIBRARY_DIRS)]
    frame = (own or frames)[0]
    return f" in {frame['func']} ({Path(frame['path']).name}, line {frame['line']})"


def _size(text: str) -> str:
    from harness.memory import parse_size

    try:
        parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_options(parser: argparse.ArgumentParser, mode: str) -> None:
    """The budget options of verify and bench, and the hidden ones a worker is started with."""
    parser.add_argument(
        "--cell-budget",
        type=positive_seconds,
        default=DEFAULT_BUDGET_S,
        metavar="SECONDS",
        help="skip a cell whose time, predicted from the same implementation's smaller "
        f"cases in this run, exceeds this (default {DEFAULT_BUDGET_S:g})",
    )
    parser.add_argument(
        "--cell-timeout",
        type=positive_seconds,
        default=None,
        metavar="SECONDS",
        help="kill a cell still running after this and record it as an error (default "
        f"{DEFAULT_TIMEOUT_S[mode]:g}, and at least twice --cell-budget)",
    )
    parser.add_argument(
        "--cell-memory",
        type=_size,
        default=None,
        metavar="SIZE",
        help="stop a cell whose resident memory (its processes' too) grows by more than this "
        "(e.g. 500M, 2G) and record it as an error (default: no limit)",
    )
    parser.add_argument("--shootout-worker", type=int, default=None, help=argparse.SUPPRESS)
    for name in HIDDEN_OPTIONS[1:]:
        parser.add_argument(name, default=None, help=argparse.SUPPRESS)


def cell_timeout(args: argparse.Namespace, mode: str) -> float:
    limit: float = args.cell_timeout or max(DEFAULT_TIMEOUT_S[mode], 2 * args.cell_budget)
    return limit


def user_argv(argv: list[str]) -> list[str]:
    """The command line as the user typed it: the supervisor's own options removed."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in HIDDEN_OPTIONS:
            skip = True
        elif arg.split("=", 1)[0] not in HIDDEN_OPTIONS:
            out.append(arg)
    return out


# ---- the worker's end ---------------------------------------------------------------------


class Link:
    """The worker's end of the pipe: heartbeats for the supervisor, stacks from faulthandler."""

    current: Link | None = None  # this process's link, once it is a worker

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def take_over(self) -> None:
        """Make this process a worker: faulthandler writes here, SIGINT interrupts."""
        import faulthandler

        from harness import escapes
        from harness.reap import adopt_orphans

        os.set_inheritable(self.fd, False)  # programs an implementation starts must not hold it
        adopt_orphans()  # a process that detaches itself is still found at its cell's end
        faulthandler.enable(file=self.fd, all_threads=True)
        faulthandler.register(signal.SIGUSR1, file=self.fd, all_threads=True)
        # A worker started from a shell that ignores SIGINT would inherit that; the
        # supervisor interrupts with SIGINT, and the worker must then save and stop. The
        # handler marks its KeyboardInterrupt: one an implementation raises is its error.
        escapes.install()
        Link.current = self

    def send(self, **event: Any) -> None:
        try:
            os.write(self.fd, (json.dumps(event) + "\n").encode())
        except OSError:  # the supervisor is gone: stop as if interrupted (results are saved)
            from harness.escapes import stop_run

            stop_run()


def report_exit(code: int) -> int:
    """Tell the supervisor, when this process is a worker, that the command ended with
    ``code``; a worker that ends without saying so did not finish its run."""
    if Link.current is not None:
        with contextlib.suppress(KeyboardInterrupt):
            Link.current.send(exit=code)
    return code


# ---- the supervisor's end -----------------------------------------------------------------


@dataclass(frozen=True)
class Ending:
    """How a worker ended: its exit status, and the cell it lost (None: between cells)."""

    code: int
    cell: str | None = None
    detail: str = ""


class Worker:
    """One worker process, watched through its pipe."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.fd, write_fd = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [*command, "--shootout-worker", str(write_fd)],
                pass_fds=(write_fd,),
                stdin=subprocess.DEVNULL,
                env=env,
                process_group=0,  # its own group: a timeout kills what the cell started too
            )
        except BaseException:
            os.close(self.fd)
            raise
        finally:
            os.close(write_fd)
        self.buffer = b""
        self.empty = False
        self.closed = False
        self.dump: list[str] = []
        self.results: str | None = None
        self.run_id: str | None = None
        self.cell: str | None = None
        self.started = 0.0
        self.timeout: float | None = None
        self.memory: dict[str, Any] | None = None  # the running cell's limit (harness.watch)
        self.last_cell: str | None = None  # the last cell recorded
        self.exit_code: int | None = None  # what the worker said its command ended with

    def close(self) -> None:
        """Stop following the worker; once it has ended, kill what it left in its group."""
        os.close(self.fd)
        if self.proc.poll() is not None:
            # Its group outlives it while a member does (the id is not reused meanwhile):
            # what an implementation started and did not stop must not outlive the run.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    def wait(self) -> Ending:
        """Follow the worker until it exits, or its running cell outlives its timeout or
        outgrows its memory limit."""
        while True:
            wait = POLL_S if self.memory is None else MEMORY_POLL_S
            if self.cell is not None and self.timeout is not None:
                wait = min(wait, max(0.0, self.started + self.timeout - time.monotonic()))
            self._read(wait)
            code = self.proc.poll()
            if code is not None:
                while self._read(0.0):
                    pass
                if self.cell is None:
                    return Ending(code)
                return Ending(code, self.cell, crash_detail(code) + innermost_frame(self.dump))
            if self.cell is not None and self.timeout is not None:
                elapsed = time.monotonic() - self.started
                if elapsed > self.timeout:
                    return self._time_out(self.cell, elapsed, self.timeout)
            over = self._over_memory()
            if self.cell is not None and over:
                self._kill()  # at once: a stack dump would give it time to grow further
                return Ending(-signal.SIGKILL, self.cell, over)

    def _over_memory(self) -> str:
        """The detail of a cell grown past its --cell-memory, or ""."""
        if self.cell is None or self.memory is None:
            return ""
        from harness.memory import tree_resident_bytes

        base = int(self.memory["base"])
        used = tree_resident_bytes(self.proc.pid) - base
        if used <= int(self.memory["limit"]):
            return ""
        return memory_detail(str(self.memory["text"]), used, base)

    def interrupt(self) -> bool:
        """Ask the worker to stop (it saves what it has); kill it if it does not in time."""
        if self.proc.poll() is not None:
            return True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(GRACE_S)
            return True
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            self._kill()
            return False

    def _time_out(self, cell: str, elapsed: float, limit: float) -> Ending:
        self.dump = []
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGUSR1)  # faulthandler: where is it stuck?
        deadline = time.monotonic() + STACK_WAIT_S
        while time.monotonic() < deadline:
            if not self._read(0.05) and self.dump:
                break
        self._kill()
        detail = timeout_detail(elapsed, limit) + innermost_frame(self.dump)
        return Ending(-signal.SIGKILL, cell, detail)

    def _kill(self) -> None:
        # Not reaped before this (only poll() reaps, and it said "running"), so the group
        # id still names this worker's group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def _read(self, wait: float) -> bool:
        """Handle what the worker writes within ``wait`` seconds; False when nothing came."""
        if self.closed:
            time.sleep(wait)
            return False
        ready, _, _ = select.select([self.fd], [], [], wait)
        if not ready:
            return False
        chunk = os.read(self.fd, 1 << 16)
        if not chunk:
            self.closed = True
            return False
        *lines, self.buffer = (self.buffer + chunk).split(b"\n")
        for line in lines:
            self._handle(line)
        return True

    def _handle(self, line: bytes) -> None:
        event: Any = None
        if line.startswith(b"{"):
            with contextlib.suppress(ValueError):
                event = json.loads(line)
        if not isinstance(event, dict):
            self.dump = [*self.dump[-200:], line.decode(errors="replace")]
        elif "start" in event:
            self.cell, self.started, self.timeout = event["start"], time.monotonic(), None
            if isinstance(event.get("timeout"), int | float):
                self.timeout = float(event["timeout"])
            memory = event.get("memory")
            self.memory = memory if isinstance(memory, dict) else None
            self.dump = []
        elif "end" in event:
            self.cell, self.memory, self.last_cell = None, None, str(event["end"])
        elif "empty" in event:
            self.empty = True  # an empty --shard: nothing selected, and that is fine
        elif "results" in event:
            self.results = str(event["results"])
            self.run_id = str(event["run"]) if event.get("run") else None
        elif isinstance(event.get("exit"), int):
            self.exit_code = event["exit"]


def _worker_env() -> dict[str, str]:
    env = dict(os.environ)
    if (ROOT / "pyproject.toml").is_file():  # a checkout: the worker imports its packages
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def supervise(argv: list[str], keeps_results: bool, command: list[str]) -> int:
    """Run ``COMMAND ARGV`` (verify or bench) in workers until every cell is recorded.

    ``command`` starts the command line in a fresh process (``python -m shootout``).
    ``keeps_results``: the user named or will get a results file; otherwise the worker
    writes one to a scratch folder (it is what a resumed worker continues) that goes away.
    """
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for stop in (signal.SIGTERM, signal.SIGHUP):  # SIGHUP: the terminal was closed
            if signal.getsignal(stop) is not signal.SIG_IGN:  # under nohup it stays ignored
                previous[stop] = signal.signal(stop, _interrupt)
    try:
        with tempfile.TemporaryDirectory(prefix="shootout-") as scratch:
            extra = [] if keeps_results else ["--shootout-results", str(Path(scratch) / "run.json")]
            return _supervise([*command, *argv, *extra], keeps_results)
    finally:
        for stop, handler in previous.items():
            signal.signal(stop, handler)


def _recorded(results: str) -> int:
    """How many records the results file holds (0 when it cannot be read)."""
    try:
        data = json.loads(Path(results).read_text())
        return len(data["verdicts"]) + len(data["measurements"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


@dataclass
class _Losses:
    """Workers that ended between cells before the run was over, and what to do next."""

    count: int = 0
    recorded: int | None = None  # records in the results file at the last loss
    recording_rest: bool = False  # the worker now running records the cells left as errors

    def next_worker(self, ending: Ending, worker: Worker, results: str) -> list[str] | None:
        """The resume options of the next worker; None when there is no point in one."""
        count = _recorded(results)
        progress = self.recorded is None or count > self.recorded
        if not progress and self.recording_rest:  # even recording the rest did not get through
            print(
                "shootout: error: the workers keep ending between cells; partial results "
                f"kept in {results} (marked incomplete)",
                file=sys.stderr,
            )
            return None
        self.count, self.recorded, self.recording_rest = self.count + 1, count, not progress
        what = f"exited with status {ending.code}"
        if ending.code < 0:
            what = "was " + crash_detail(ending.code).removeprefix("crashed: ")
        after = f"after {worker.last_cell}" if worker.last_cell else "before its first cell"
        lost = f"the worker {what} between cells ({after}) before every cell was recorded"
        if progress:
            print(f"shootout: {lost}; going on with the cells not recorded yet", file=sys.stderr)
            return ["--shootout-resume", results]
        print(
            f"shootout: {lost}, again without recording a cell; the cells not recorded yet "
            "are errors",
            file=sys.stderr,
        )
        rest = json.dumps({"rest": f"not run: {lost}, twice without recording a cell"})
        return ["--shootout-resume", results, "--shootout-lost", rest]


def _supervise(command: list[str], keeps_results: bool) -> int:
    env = _worker_env()
    resume: list[str] | None = []
    results: str | None = None
    run_id: str | None = None
    losses = _Losses()
    while resume is not None:
        worker = Worker([*command, *resume], env)
        try:
            ending = worker.wait()
        except KeyboardInterrupt:
            if not worker.interrupt():  # it could not say so itself
                results = worker.results or results
                kept = f"; partial results kept in {results} (marked incomplete)"
                print(
                    f"shootout: interrupted{kept if keeps_results and results else ''}",
                    file=sys.stderr,
                )
            return EXIT_INTERRUPTED
        finally:
            worker.close()
        results = worker.results or results
        run_id = worker.run_id or run_id
        if ending.cell is None and worker.exit_code is not None:  # the command is over
            if worker.exit_code == 0 and losses.count:
                print(
                    f"shootout: error: exit status 1: a worker ended between cells "
                    f"{losses.count} time(s) before the run was over (see above)",
                    file=sys.stderr,
                )
                return 1
            return worker.exit_code
        if ending.cell is None and results is None:  # it never started the run
            if ending.code == 0 and not worker.empty:  # e.g. a plugin's exit in native code
                print(
                    "shootout: error: the worker exited (status 0) before it could run any cell",
                    file=sys.stderr,
                )
                return EXIT_USAGE
            if ending.code >= 0:
                return ending.code
            what = crash_detail(ending.code).removeprefix("crashed: ")
            print(f"shootout: error: the worker was {what} outside any cell", file=sys.stderr)
            return EXIT_USAGE
        if ending.cell is None:
            assert results is not None
            resume = losses.next_worker(ending, worker, results)
            if resume is not None and run_id:
                resume += ["--shootout-run", run_id]
            continue
        if results is None:  # a cell never starts before the results file is announced
            print("shootout: error: the worker announced no results file", file=sys.stderr)
            return EXIT_USAGE
        print(
            f"shootout: {ending.cell}: {ending.detail}; going on with the remaining cells",
            file=sys.stderr,
        )
        lost = json.dumps({"cell": ending.cell, "detail": ending.detail})
        resume = ["--shootout-resume", results, "--shootout-lost", lost]
        resume += ["--shootout-run", run_id] if run_id else []
        losses.recording_rest = False
    return 1
