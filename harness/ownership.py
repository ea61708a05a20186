"""One run per results file: the lock a run holds on the file it names with ``--results``.

Two runs given the same ``--results`` path would overwrite each other's file, and a worker
of one that resumes after a crash would continue the other's run. So the command that
supervises a run holds an exclusive lock, ``.<name>.lock`` beside the file, from before
its first worker starts until its last one has ended; a second run naming the same file
meanwhile stops at once with a one-line error. The lock is the kernel's (``flock``): it
goes away with the process, so a run killed outright never leaves the file locked. A
later run (the first one over) replaces the file, as any named output is replaced.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from harness.results import ResultsError


def lock_path(results: Path) -> Path:
    return results.parent / f".{results.name}.lock"


def _holder(fd: int) -> str:
    with contextlib.suppress(OSError):
        text = os.pread(fd, 200, 0).decode(errors="replace").strip()
        if text.isdigit():
            return f" (process {text})"
    return ""


def _acquire(lock: Path, results: Path) -> int:
    import fcntl

    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise ResultsError(
                f"results file {str(results)!r} is being written by another run{holder}; "
                "give this run another --results file"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        # The previous holder removes the lock file as it lets go: a lock taken on the
        # file it removed guards nothing, so take the one now at that path instead.
        try:
            now = os.stat(lock)
            held = os.fstat(fd)
            same = (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            return fd
        os.close(fd)


@contextlib.contextmanager
def own_results(results: Path | None) -> Iterator[None]:
    """Hold the results file's lock around a run; ResultsError when another run holds it.

    Nothing is locked for None, or where the platform has no ``flock``.
    """
    if results is None or os.name != "posix":
        yield
        return
    results = Path(results)
    results.parent.mkdir(parents=True, exist_ok=True)
    lock = lock_path(results)
    fd = _acquire(lock, results)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)  # while still holding it: see _acquire
        os.close(fd)
