"""Memory of a process tree: sizes as a user writes them, resident memory, a cell's peak.

Resident memory (RSS) is what a cell is held to, not address space: CUDA, Numba and torch
reserve tens of GiB of virtual addresses they never touch, so a limit on the address space
(``RLIMIT_AS``) would fail them for nothing. On Linux the kernel keeps a resettable high-water
mark of a process's RSS (``VmHWM``, reset by writing 5 to ``/proc/self/clear_refs``): a cell's
peak is read from it without sampling, so nothing runs beside the timed code. Elsewhere
psutil gives the current RSS and ``getrusage`` the lifetime peak.
"""

from __future__ import annotations

import math
import os
import re
import resource
import sys
from pathlib import Path
from typing import Any

MIB = 2**20
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)
_PROC = Path("/proc")


def parse_size(text: str) -> int:
    """Bytes in ``2G``, ``500M``, ``1.5GiB``, ``800kb`` or ``1048576`` (binary multiples);
    ValueError with the reason for anything else, zero and negative sizes included."""
    found = _SIZE.match(text)
    if found is None:
        raise ValueError(f"{text!r} is not a size (write it like 500M or 2G)")
    value = float(found[1]) * _UNITS[found[2].upper()]
    if not (math.isfinite(value) and value >= 1):
        raise ValueError(f"must be a positive size, got {text!r}")
    return int(value)


def mib(size: float) -> float:
    """Bytes as MiB, rounded to 0.1 (what results files record)."""
    return round(size / MIB, 1)


def resident_bytes(pid: int | None = None) -> int:
    """The resident memory of one process (this one by default); 0 when it is gone."""
    pid = os.getpid() if pid is None else pid
    try:
        pages = int((_PROC / str(pid) / "statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    import psutil

    try:
        return int(psutil.Process(pid).memory_info().rss)
    except psutil.Error:
        return 0


def descendants(pid: int | None = None) -> set[int]:
    """Every live process below ``pid`` (this one by default); zombies are left out.

    Linux lists each thread's children in /proc; psutil does the same elsewhere (and where
    the kernel lacks those files), at the cost of scanning every process.
    """
    pid = os.getpid() if pid is None else pid
    if (_PROC / str(pid) / "task").is_dir() and _has_children_files():
        found: set[int] = set()
        todo = [pid]
        while todo:
            for child in _children(todo.pop()):
                if child not in found and not _zombie(child):
                    found.add(child)
                    todo.append(child)
        return found
    import psutil

    try:
        kids = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return set()
    return {p.pid for p in kids if _alive(p)}


def tree_resident_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and everything it started (shared pages counted in each)."""
    return sum(resident_bytes(p) for p in {pid, *descendants(pid)})


def _has_children_files() -> bool:
    return (_PROC / "self" / "task" / str(_thread_id()) / "children").exists()


def _thread_id() -> int:
    import threading

    return threading.get_native_id()


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = list((_PROC / str(pid) / "task").iterdir())
    except OSError:
        return out
    for task in tasks:
        try:
            out += [int(p) for p in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return out


def _zombie(pid: int) -> bool:
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return True  # already gone
    return stat.rsplit(")", 1)[-1].split()[:1] == ["Z"]


def _alive(process: Any) -> bool:
    import psutil

    try:
        return bool(process.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


class Peak:
    """This process's peak resident memory over a stretch of code, above where it began."""

    def __init__(self) -> None:
        self.start = resident_bytes()
        self.lifetime = _lifetime_peak()
        self.resettable = _reset_high_water_mark()

    def added(self) -> float | None:
        """MiB of resident memory the stretch added at its peak; None when unknowable (no
        resettable high-water mark, and the process had been bigger before)."""
        if self.resettable:
            peak = _high_water_mark()
            if peak is not None:
                return mib(max(0, peak - self.start))
        lifetime = _lifetime_peak()
        if lifetime > self.lifetime:  # a new lifetime peak: it was reached in the stretch
            return mib(max(0, lifetime - self.start))
        return None


def _reset_high_water_mark() -> bool:
    try:
        (_PROC / "self" / "clear_refs").write_text("5")
    except OSError:
        return False
    return _high_water_mark() is not None


def _high_water_mark() -> int | None:
    try:
        for line in (_PROC / "self" / "status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _lifetime_peak() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # bytes on macOS, KiB else


class DevicePeak:
    """Peak GPU memory torch allocated over a stretch of code, above what it held before.

    Only when torch has already initialised CUDA (or does so during the stretch): measuring
    never starts a CUDA context. CuPy's pool keeps no peak, so CuPy cells record none.
    """

    def __init__(self) -> None:
        self.start = 0
        cuda = _torch_cuda()
        if cuda is not None and cuda.is_initialized():
            self.start = int(cuda.memory_allocated())
            cuda.reset_peak_memory_stats()

    def added(self) -> float | None:
        cuda = _torch_cuda()
        if cuda is None or not cuda.is_initialized():
            return None
        return mib(max(0, int(cuda.max_memory_allocated()) - self.start))


def _torch_cuda() -> Any:
    torch = sys.modules.get("torch")
    return getattr(torch, "cuda", None) if torch is not None else None
