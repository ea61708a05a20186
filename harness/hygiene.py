"""What a cell leaves behind in the worker process: found when the cell ends, undone, and
written into the cell's records, so that one implementation cannot change another's
verdicts or timings.

* **Global settings** (NumPy's error state, torch's default dtype, grad mode and
  deterministic-algorithm flags, the working directory, environment variables) are put back
  as they were and the change is named in the cell's ``warning``. They are also put back
  right after each call the harness compares (``settle``), so an implementation that turns
  on ``np.seterr(all="raise")`` cannot make the comparison of its own output raise either.
  Environment variables written while a module was being imported (torch, OpenCV and
  Numba configure the environment when imported) are the library's setup and are kept.
* **Thread pools** (torch, Numba once its pool is running, and every BLAS and OpenMP pool
  threadpoolctl finds) are read back when the cell ends and recorded with its measurement:
  what the pools really were, not what was asked. A pool the cell resized is put back, and
  the cell's timing is flagged: it ran on another number of threads than the run's.
* **Threads** the cell started and left running, and **child processes** it left running,
  are named in the warning and flag its timing. Child processes are killed. A thread cannot
  be stopped: each later cell during which such threads used CPU has its timing flagged, so
  a slowed cell is never taken for a slow implementation.
* **Memory**: the peak resident memory the cell added (harness.memory) and, where torch
  uses CUDA, the peak GPU memory it allocated.

A flagged timing stays in the results file with its reason and is left out of rankings and
budgets (reports.table.trusted, harness.gate).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.memory import DevicePeak, Peak, descendants
from harness.reap import reap_killed

ABSENT = "(not loaded)"
# Left-over threads that used more CPU than this during a later cell flag its timing (the
# kernel counts thread CPU time in ticks of 10 ms).
LEFTOVER_CPU_S = 0.02
# How long threads the cell started get to finish on their own before they count as left.
THREAD_GRACE_S = 0.2
_IGNORED_ENV = ("PYTEST_CURRENT_TEST",)  # pytest's own, set around every test phase


@dataclass(frozen=True)
class Reading:
    """One global setting's current value, and how to put a value back.

    ``pool`` names a thread pool's entry in the per-cell thread record ("torch", "numba",
    "blas", "openmp"); empty for other settings."""

    value: Any
    write: Callable[[Any], object]
    pool: str = ""
    fresh: Any = ABSENT  # its value in a library just imported (torch's defaults)


def _readings() -> dict[str, Reading]:
    """Every global setting the harness guards, as it is now."""
    import numpy as np

    out = {
        "numpy error state (np.seterr)": Reading(np.geterr(), lambda v: np.seterr(**v)),
        "working directory": Reading(_cwd(), os.chdir),
        "environment variables": Reading(_environment(), _set_environment),
    }
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "get_default_dtype"):
        out.update(_torch_readings(torch))
    numba = sys.modules.get("numba")
    if numba is not None and _numba_pool_running():
        out["numba threads"] = Reading(numba.get_num_threads(), numba.set_num_threads, "numba")
    out.update(_pool_readings())
    return out


def _torch_readings(torch: Any) -> dict[str, Reading]:
    def deterministic(value: tuple[bool, bool]) -> None:
        torch.use_deterministic_algorithms(value[0], warn_only=value[1])

    return {
        "torch default dtype": Reading(
            torch.get_default_dtype(), torch.set_default_dtype, fresh=torch.float32
        ),
        "torch grad mode": Reading(torch.is_grad_enabled(), torch.set_grad_enabled, fresh=True),
        "torch deterministic algorithms": Reading(
            (
                torch.are_deterministic_algorithms_enabled(),
                torch.is_deterministic_algorithms_warn_only_enabled(),
            ),
            deterministic,
            fresh=(False, False),
        ),
        "torch threads": Reading(torch.get_num_threads(), torch.set_num_threads, "torch"),
    }


def _numba_pool_running() -> bool:
    """Asking Numba for its thread count launches its pool: only ask once it runs."""
    parallel = sys.modules.get("numba.np.ufunc.parallel")
    return bool(getattr(parallel, "_is_initialized", False))


class _Pools:
    """threadpoolctl's view of the loaded BLAS and OpenMP libraries, rebuilt only when new
    modules were imported (building it scans every loaded library; reading it is cheap)."""

    modules = -1
    controller: Any = None

    @classmethod
    def libraries(cls) -> list[Any]:
        if cls.controller is None or len(sys.modules) != cls.modules:
            from threadpoolctl import ThreadpoolController

            cls.controller, cls.modules = ThreadpoolController(), len(sys.modules)
        return list(cls.controller.lib_controllers)


def _pool_readings() -> dict[str, Reading]:
    out = {}
    for lib in _Pools.libraries():
        name = f"{lib.internal_api} threads ({Path(lib.filepath).name})"
        out[name] = Reading(int(lib.num_threads), lib.set_num_threads, lib.user_api)
    return out


def _cwd() -> str:
    try:
        return os.getcwd()
    except OSError:  # the folder was removed under the process
        return "(removed)"


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _IGNORED_ENV}


def _set_environment(value: Mapping[str, str]) -> None:
    now = _environment()
    for key in set(now) - set(value):
        del os.environ[key]
    for key, text in value.items():
        if now.get(key) != text:
            os.environ[key] = text


def _importing() -> bool:
    """Whether the running code was called from a module being imported."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib._bootstrap"):
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


class _EnvironmentWrites:
    """The names of environment variables written during an import, per running cell.

    ``os.environ`` writes through ``os.putenv`` and ``os.unsetenv``, looked up in the os
    module at each write: wrapping them there (once per process) sees every write and costs
    nothing elsewhere, unlike an audit hook, which would run on every audited event."""

    installed = False

    @classmethod
    def install(cls) -> None:
        if cls.installed:
            return
        cls.installed = True
        for name in ("putenv", "unsetenv"):
            setattr(os, name, cls._wrap(getattr(os, name)))

    @staticmethod
    def _wrap(original: Callable[..., None]) -> Callable[..., None]:
        def write(key: Any, *value: Any) -> None:
            if _ACTIVE and _importing():
                _ACTIVE[-1].import_env.add(os.fsdecode(key))
            original(key, *value)

        return write


def _change_text(name: str, before: Any, after: Any) -> str:
    """'torch default dtype torch.float32 -> torch.float64', or the keys that changed."""
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        keys = sorted(k for k in {*before, *after} if before.get(k) != after.get(k))
        if name == "environment variables":
            parts = [
                f"{k} " + ("set" if k not in before else "removed" if k not in after else "changed")
                for k in keys
            ]
        else:
            parts = [f"{k} {before.get(k)} -> {after.get(k)}" for k in keys]
        return f"{name}: {', '.join(parts)}"
    return f"{name} {before} -> {after}"


def _thread_cpu(thread: threading.Thread) -> float | None:
    """CPU seconds a thread of this process has used (Linux); None when that cannot be read.

    Read from /proc by the thread's kernel id: asking pthreads about a thread that may
    just have ended is undefined behaviour."""
    try:
        stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
        user, system = stat.rsplit(")", 1)[1].split()[11:13]
        return (int(user) + int(system)) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class Findings:
    """What one cell left behind, and what the records of the cell get."""

    warnings: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    threads: dict[str, int] = field(default_factory=dict)  # pool -> size during the cell
    peak_rss_mb: float | None = None
    device_peak_mb: float | None = None

    def annotate(self, verdicts: list[dict[str, Any]], measurements: list[dict[str, Any]]) -> None:
        """Write the findings into the cell's records (results-file dicts)."""
        common = {"peak_rss_mb": self.peak_rss_mb, "device_peak_mb": self.device_peak_mb}
        for record in [*verdicts, *measurements]:
            record.update(common, warning=_joined(record.get("warning"), self.warnings))
        for record in measurements:
            record["threads"] = dict(self.threads)
            if record.get("status") == "ok":
                record["flagged"] = _joined(record.get("flagged"), self.flags)


def _joined(old: Any, new: list[str]) -> str:
    return "; ".join(dict.fromkeys([*([old] if old else []), *new]))


@dataclass
class _LeftThread:
    thread: threading.Thread
    cell: str


class Guard:
    """One cell's watch: the state at its start, compared, restored and recorded later."""

    def __init__(self, pinned: int | None, leftovers: list[_LeftThread]) -> None:
        _EnvironmentWrites.install()
        # The pool readings import threadpoolctl, whose import sets KMP_DUPLICATE_LIB_OK:
        # imported before the start is read, so the harness's own write is not the cell's.
        import threadpoolctl  # noqa: F401

        self.pinned = pinned
        self.before = {name: r.value for name, r in _readings().items()}
        self.import_env: set[str] = set()  # written by a module being imported: kept
        self.threads = set(threading.enumerate())
        self.children = descendants()
        self.leftovers = [left for left in leftovers if left.thread.is_alive()]
        self.cpu = [_thread_cpu(left.thread) for left in self.leftovers]
        self.findings = Findings()
        self.changed: dict[str, str] = {}  # setting -> its first change, for the warning
        self.peak, self.device = Peak(), DevicePeak()

    def settle(self) -> None:
        """Compare every setting with the cell's start, note changes and put them back."""
        now = _readings()
        for name, reading in now.items():
            expected = self._expected(name, reading)
            if expected is ABSENT or reading.value == expected:
                self.before.setdefault(name, reading.value)
                if reading.pool:
                    self.findings.threads.setdefault(reading.pool, reading.value)
                continue
            if reading.pool:  # what the pool really was: the changed size wins
                self.findings.threads[reading.pool] = reading.value
            self.changed.setdefault(name, _change_text(name, expected, reading.value))
            if reading.pool:
                self.findings.flags.append(
                    f"ran with {name} {reading.value} (the run's setting is {expected})"
                )
            with contextlib.suppress(Exception):  # a setting that cannot be put back stays noted
                reading.write(expected)

    def _expected(self, name: str, reading: Reading) -> Any:
        """The value the setting should have: the cell's start, or for a pool that appeared
        during the cell (its library was imported) the run's pinned thread count."""
        value = self.before.get(name, ABSENT)
        if name == "environment variables" and self.import_env:
            # what an import wrote is the library's own setup: expected from now on
            kept = {k: v for k, v in reading.value.items() if k in self.import_env}
            value = {k: v for k, v in value.items() if k not in self.import_env} | kept
            self.before[name], self.import_env = value, set()
        if value is not ABSENT:
            return value
        if not reading.pool or self.pinned is None:
            return reading.fresh
        if reading.pool == "numba":
            numba = sys.modules["numba"]
            return min(self.pinned, int(numba.config.NUMBA_NUM_THREADS))
        return self.pinned

    def finish(self, cell: str, leftovers: list[_LeftThread]) -> Findings:
        self.settle()
        found = self.findings
        if self.changed:
            found.warnings.append("changed and restored: " + "; ".join(self.changed.values()))
        self._threads_left(cell, leftovers)
        self._leftover_cpu()
        self._children_left()
        found.peak_rss_mb, found.device_peak_mb = self.peak.added(), self.device.added()
        found.flags = list(dict.fromkeys(found.flags))
        return found

    def _threads_left(self, cell: str, leftovers: list[_LeftThread]) -> None:
        # Dummy threads are native threads that merely called into Python (a library's
        # own pool): not started by the implementation, and they cannot be joined.
        started = [
            t
            for t in threading.enumerate()
            if t not in self.threads and not isinstance(t, threading._DummyThread)
        ]
        deadline = time.monotonic() + THREAD_GRACE_S
        for thread in started:
            thread.join(max(0.0, deadline - time.monotonic()))
        running = [t for t in started if t.is_alive()]
        if not running:
            return
        names = ", ".join(repr(t.name) for t in running)
        self.findings.warnings.append(f"left {len(running)} thread(s) running: {names}")
        self.findings.flags.append("a thread it started was still running after the cell")
        leftovers += [_LeftThread(t, cell) for t in running]

    def _leftover_cpu(self) -> None:
        used, unknown = 0.0, False
        for left, start in zip(self.leftovers, self.cpu, strict=True):
            end = _thread_cpu(left.thread)
            if start is None or end is None:
                unknown = unknown or left.thread.is_alive()
            else:
                used += end - start
        if used > LEFTOVER_CPU_S or unknown:
            cells = ", ".join(sorted({left.cell for left in self.leftovers}))
            spent = f"used {used:.2f} s of CPU" if not unknown else "were running"
            self.findings.flags.append(
                f"threads left running by an earlier cell ({cells}) {spent} during this cell"
            )

    def _children_left(self) -> None:
        left = sorted(descendants() - self.children)
        if not left:
            return
        names = [f"{pid} {_command(pid)}".strip() for pid in left[:3]]
        names += [f"{len(left) - 3} more"] if len(left) > 3 else []
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        reap_killed(left)
        self.findings.warnings.append(
            f"left {len(left)} child process(es) running, killed: {', '.join(names)}"
        )
        self.findings.flags.append("a child process it started was still running after the cell")


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


_ACTIVE: list[Guard] = []


def settle() -> None:
    """Put back global settings changed since the running cell began (no-op outside a
    cell): called right after an implementation's call, before the harness compares."""
    if _ACTIVE:
        _ACTIVE[-1].settle()


@dataclass
class Hygiene:
    """The worker's memory across cells: threads earlier cells left running."""

    leftovers: list[_LeftThread] = field(default_factory=list)

    @contextlib.contextmanager
    def cell(
        self,
        cell: str,
        verdicts: list[dict[str, Any]],
        measurements: list[dict[str, Any]],
        pinned: int | None = None,
    ) -> Iterator[Guard]:
        """Around one cell: the records it appends to ``verdicts`` and ``measurements`` get
        its findings. ``pinned`` is the run's thread count (None: compare with the start)."""
        marks = (len(verdicts), len(measurements))
        guard = Guard(pinned, self.leftovers)
        _ACTIVE.append(guard)
        try:
            yield guard
        finally:
            _ACTIVE.remove(guard)
            try:
                found = guard.finish(cell, self.leftovers)
            except Exception as exc:  # the check must not cost the cell its verdict
                found = Findings(
                    warnings=[f"what the cell left behind could not be checked: {exc!r}"]
                )
            self.leftovers[:] = [left for left in self.leftovers if left.thread.is_alive()]
            found.annotate(verdicts[marks[0] :], measurements[marks[1] :])
