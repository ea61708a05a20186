"""Code from outside the project: plugin files and modules, and installed entry points.

Importing it is what registers its implementations, so whatever it does at import time,
exiting or killing its own process included, must become one line of reason. A plugin
that calls ``sys.exit(0)`` or ``os._exit(0)`` at import time would otherwise end the
command with status 0 and no output, as if every check had passed. While the import runs,
``os._exit``, ``os.abort``, ``signal.raise_signal`` and ``os.kill``/``os.killpg`` aimed at
this process are replaced by functions that raise instead, and ``SystemExit`` is caught. (A
crash in native code cannot be caught in-process; under ``verify`` and ``bench`` the
supervisor reports it.) A function that cannot take its suite's arguments is named once,
when it is loaded, instead of failing each of its cells.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import inspect
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn, TypeVar

T = TypeVar("T")
#: The module name a plugin file is imported under (a digest of its path follows).
PLUGIN_PREFIX = "_shootout_plugin_"
#: The entry-point group installed packages register implementations under.
ENTRY_POINT_GROUP = "opshootout.implementations"
#: Set (to anything but "" or "0") to ignore installed entry points; ``--no-entry-points``.
NO_ENTRY_POINTS_ENV = "OPSHOOTOUT_NO_ENTRY_POINTS"


class ImportFailed(Exception):
    """The import failed or tried to end the process; the message is one line."""


class _Exit(BaseException):
    """Raised in place of ending the process (a BaseException: ``except Exception`` in the
    imported code must not swallow it)."""


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


@contextlib.contextmanager
def _exits_refused() -> Iterator[None]:
    saved: dict[tuple[Any, str], Any] = {}
    me = os.getpid()
    group = os.getpgrp() if hasattr(os, "getpgrp") else None
    original_kill = os.kill
    original_killpg = getattr(os, "killpg", None)

    def exit_(code: int = 0) -> NoReturn:
        raise _Exit(f"os._exit({code})")

    def abort() -> NoReturn:
        raise _Exit("os.abort()")

    def raise_signal(sig: int) -> NoReturn:
        raise _Exit(f"signal.raise_signal({_signal_name(sig)})")

    def kill(pid: int, sig: int) -> None:
        if sig != 0 and (pid in (me, 0) or (group is not None and pid == -group)):
            raise _Exit(f"os.kill(its own process, {_signal_name(sig)})")
        original_kill(pid, sig)

    def killpg(pgid: int, sig: int) -> None:
        if sig != 0 and pgid in (0, group):
            raise _Exit(f"os.killpg(its own group, {_signal_name(sig)})")
        assert original_killpg is not None
        original_killpg(pgid, sig)

    replacements: list[tuple[Any, str, Any]] = [
        (os, "_exit", exit_),
        (os, "abort", abort),
        (os, "kill", kill),
        (signal, "raise_signal", raise_signal),
    ]
    if original_killpg is not None:
        replacements.append((os, "killpg", killpg))
    for owner, name, replacement in replacements:
        saved[(owner, name)] = getattr(owner, name)
        setattr(owner, name, replacement)
    try:
        yield
    finally:
        for (owner, name), value in saved.items():
            setattr(owner, name, value)


def guarded_import(what: str, load: Callable[[], T]) -> T:
    """``load()``, with any failure or attempt to exit turned into ImportFailed naming
    ``what`` (e.g. ``plugin 'my.py'``)."""
    try:
        with _exits_refused():
            return load()
    except ImportFailed:
        raise
    except SyntaxError as exc:
        raise ImportFailed(f"{what}: syntax error at line {exc.lineno}: {exc.msg}") from None
    except SystemExit as exc:
        raise ImportFailed(f"{what} exits at import time (SystemExit({exc.code!r}))") from None
    except _Exit as exc:
        raise ImportFailed(f"{what} tries to end the process at import time ({exc})") from None
    except Exception as exc:
        raise ImportFailed(f"{what} failed to import: {one_line(exc)}") from None


def import_plugin(target: str) -> str:
    """Import a plugin file (by path) or module (by name) once; return its module name."""
    path = Path(target)
    is_file = target.endswith(".py") or path.exists()
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    name = f"{PLUGIN_PREFIX}{digest}" if is_file else target
    if name in sys.modules:
        return name
    if is_file and not path.is_file():
        raise ImportFailed(f"plugin {target!r}: no such file")

    def load() -> None:
        if not is_file:
            importlib.import_module(target)
            return
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportFailed(f"plugin {target!r}: not a Python file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)

    try:
        guarded_import(f"plugin {target!r}", load)
    except ImportFailed:
        if is_file:
            sys.modules.pop(name, None)
        raise
    return name


def entry_points_enabled() -> bool:
    """False when ``OPSHOOTOUT_NO_ENTRY_POINTS`` is set to anything but "" or "0"."""
    return os.environ.get(NO_ENTRY_POINTS_ENV, "") in ("", "0")


def signature_problem(fn: Callable[..., Any], count: int) -> str | None:
    """``fn``'s signature when it cannot be called with ``count`` positional arguments, or
    None (also when it cannot be introspected, e.g. a compiled callable)."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(*range(count))
    except TypeError:
        return f"{getattr(fn, '__name__', 'the function')}{signature}"
    return None
