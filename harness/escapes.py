"""Exceptions that escape an implementation: which one stops the whole run, and how a cell's
error names the others.

Only an interrupt of the run stops it: a KeyboardInterrupt that a signal delivered (Ctrl-C,
or the supervisor passing on SIGTERM, both arrive as SIGINT in the worker) or that the
harness raised on purpose (its supervisor is gone). Everything else an implementation
raises is that cell's error, ``BaseException`` subclasses included: ``SystemExit``,
``GeneratorExit``, ``asyncio.CancelledError``, and a ``KeyboardInterrupt`` it raised itself.
The two kinds of KeyboardInterrupt are told apart by a flag that the SIGINT handler sets.
"""

from __future__ import annotations

import signal
from types import FrameType
from typing import NoReturn

_stopping = False  # a signal (or the harness) interrupted the run


def stop_run() -> NoReturn:
    """Interrupt the whole run: the KeyboardInterrupt raised here is never a cell's error."""
    global _stopping
    _stopping = True
    raise KeyboardInterrupt


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    stop_run()


def install() -> None:
    """Catch SIGINT with the handler that marks its KeyboardInterrupt (main thread only)."""
    signal.signal(signal.SIGINT, _on_sigint)


def stops_the_run(exc: BaseException) -> bool:
    """Whether ``exc`` interrupts the run rather than being the running cell's error.

    Where the handler is not installed (pytest run directly, an embedding program), a
    KeyboardInterrupt cannot be told apart and stops the run, as Python's own would.
    """
    if not isinstance(exc, KeyboardInterrupt):
        return False
    return _stopping or signal.getsignal(signal.SIGINT) is not _on_sigint


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message``, or ``Type`` alone when the message is empty."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
