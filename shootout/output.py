"""What a command hands back besides its table: versioned JSON, a Markdown job summary, and a
quiet end when the reader of stdout has gone (``shootout list | head -1``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

#: The version of every ``--json`` document (README: "Machine-readable output"). Raised
#: when a field is removed or changes meaning; adding a field keeps it.
JSON_SCHEMA_VERSION = 1
#: The status of a command whose stdout was closed under it, as a shell reports a process
#: ended by SIGPIPE (128 + 13).
EXIT_CLOSED_PIPE = 141
STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


def json_document(command: str, **payload: Any) -> str:
    """One command's JSON: ``schema_version`` and ``command`` first, then its fields."""
    document = {"schema_version": JSON_SCHEMA_VERSION, "command": command, **payload}
    return json.dumps(document, indent=1, default=str)


def add_markdown_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--markdown",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"also write a Markdown summary here (appended to ${STEP_SUMMARY_ENV} when set)",
    )


def job_summary(path: Path | None, text: str) -> None:
    """The Markdown summary to ``path`` (--markdown) and, in a CI job, appended to the file
    ``$GITHUB_STEP_SUMMARY`` names (what GitHub Actions shows on the run's page)."""
    if path is not None:
        from harness.results import write_atomic

        write_atomic(path, text)
    step = os.environ.get(STEP_SUMMARY_ENV)
    if step:
        with open(step, "a", encoding="utf-8") as handle:
            handle.write(text)


def flushed(code: int) -> int:
    """``code``, once stdout is flushed: a closed pipe shows up here, inside the command's
    error handling, instead of in the interpreter's final flush."""
    sys.stdout.flush()
    return code


def stdout_closed() -> bool:
    """Whether the reader of stdout has gone (a pipe whose other end is closed)."""
    try:
        import select

        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(event & select.POLLERR for _, event in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll here: take the error's word
        return True


def closed_pipe() -> int:
    """End quietly after stdout's reader went away: later writes, and the interpreter's
    final flush, go to the null device (the advice of Python's signal module docs)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
    return EXIT_CLOSED_PIPE
