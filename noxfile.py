"""nox sessions: tests, bench, report, gate, lint, gpu. Each installs what it needs itself."""

from __future__ import annotations

import tomllib
from pathlib import Path

import nox

nox.options.sessions = ["tests"]
nox.options.default_venv_backend = "venv"

# torch is pinned exactly; from PyPI on Linux that is the CUDA build, unless pip is pointed at
# the CPU index (README, "Installing"). numba and CuPy need numpy below 2.6.
PINS = ("torch==2.13.0", "numpy<2.6")
THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}


def _install(session: nox.Session, extras: str) -> None:
    session.install("-e", f".[{extras}]", *PINS)


def _extra(name: str) -> list[str]:
    """The requirements of one optional-dependency group of pyproject.toml."""
    project = tomllib.loads(Path(__file__).with_name("pyproject.toml").read_text())["project"]
    requirements: list[str] = project["optional-dependencies"][name]
    return requirements


@nox.session
def tests(session: nox.Session) -> None:
    """Verify every implementation and test the harness (verification runs in parallel)."""
    _install(session, "dev")
    # --dist loadgroup: the cells of a Numba implementation stay on one worker (one compile)
    session.run("pytest", "-n", "2", "--dist", "loadgroup", *session.posargs, env=THREAD_ENV)


@nox.session
def power(session: nox.Session) -> None:
    """Statistical-power checks of the gate: run alone, on a quiet machine."""
    _install(session, "dev")
    env = {**THREAD_ENV, "SHOOTOUT_POWER_TESTS": "1"}
    session.run("pytest", "-m", "power", *session.posargs, env=env)


@nox.session
def bench(session: nox.Session) -> None:
    """Verify and time the quick profile (pass `-- --profile full` for more), then report."""
    _install(session, "all")
    args = session.posargs or ["--profile", "quick"]
    session.run("shootout", "bench", *args)
    session.run("shootout", "report", "results", "--out", "site")


@nox.session
def report(session: nox.Session) -> None:
    """Rebuild the HTML report from the results files, without re-running anything; installs
    only what rendering needs (the `report` extra: no torch, numba or OpenCV)."""
    session.install("--no-deps", "-e", ".")
    session.install(*_extra("report"))
    session.run("shootout", "report", *(session.posargs or ["results"]), "--out", "site")


@nox.session
def gate(session: nox.Session) -> None:
    """Compare the working tree with a git ref (default HEAD): `nox -s gate -- --base main`."""
    _install(session, "all")
    session.run("shootout", "gate", *(session.posargs or ["--base", "HEAD"]), env=THREAD_ENV)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint + format check) and mypy --strict on harness, reports and shootout."""
    _install(session, "dev")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


@nox.session(venv_backend="none")
def gpu(session: nox.Session) -> None:
    """On a CUDA machine: the GPU check (README: Running the GPU check), in the machine's own
    environment (its CUDA torch), installing nothing: `nox -s gpu -- --out DIR`."""
    session.run("python", "-m", "shootout.gpu_check", *session.posargs)
