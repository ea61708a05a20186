"""One pytest session over a run's cells, in this process, with pytest's own output kept quiet."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest

from harness.pytest_plugin import State, install_state

CELLS_MODULE = Path(__file__).with_name("cells.py")
ROOT = Path(__file__).resolve().parent.parent


class SessionError(Exception):
    """pytest could not run the cells at all (CLI exit 2)."""


def run_pytest(state: State, extra: list[str]) -> int:
    """Hand the cells to pytest in this process; its own terminal output is kept quiet."""

    class Inject:
        @staticmethod
        def pytest_configure(config: pytest.Config) -> None:
            install_state(config, state)

    args = [
        str(CELLS_MODULE),
        "-p",
        "harness.pytest_plugin",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:warnings",
        "-p",
        "no:xdist",
        "-q",
        "--rootdir",
        str(ROOT),
        "-o",
        "addopts=",
        "-o",
        "python_files=cells.py",
        *extra,
    ]
    # A CLI run inside a test worker must not think it is one: no xdist, which would also
    # switch pytest-benchmark off.
    for var in [v for v in os.environ if v.startswith("PYTEST_XDIST")]:
        del os.environ[var]
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        code = pytest.main(args, plugins=[Inject()])
    if code in (pytest.ExitCode.INTERRUPTED,):
        raise KeyboardInterrupt
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        tail = buffer.getvalue().strip().splitlines()[-5:]
        raise SessionError(
            f"pytest could not run the cells (exit {int(code)}): " + " | ".join(tail)
        )
    return int(code)
