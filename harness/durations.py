"""pytest plugin: test time per algorithm, the slowest printed at the end of the session.

Every algorithm may add about ``BUDGET_S`` seconds (harness.budget) to the test run (``nox -s
tests``). A test belongs to an algorithm when its file is ``test_<algorithm>.py`` or when
its parameter id names the algorithm (the generated cells ``<algorithm>/<backend>/...``, the
conformance tests ``[<algorithm>]``); the modes of an algorithm (``softmax.backward``) count
as the algorithm. Setup, call and teardown are summed, as wall time and as the CPU time of
the process that ran them: on a loaded machine wall time inflates with the load while CPU
time stays what the tests cost (a quiet machine gives both alike). Under pytest-xdist the
workers run side by side, so an algorithm's share of the run is its sum divided by the
number of workers; algorithms whose CPU share exceeds the budget are flagged. Nothing
fails: wall time on a shared machine is not something a test may assert.
"""

from __future__ import annotations

import importlib.util
import pkgutil
import re
import time
from collections import defaultdict
from collections.abc import Generator, Iterable, Mapping
from pathlib import PurePosixPath

import pytest

from harness.budget import TESTS_ALGORITHM_S as BUDGET_S

#: How many algorithms the summary lists, slowest first.
SHOWN = 10

_SEPARATORS = re.compile(r"[\[\]/,:\- ]+")


def known_algorithms() -> frozenset[str]:
    """The algorithms of the project: one suite module each (nothing is imported)."""
    spec = importlib.util.find_spec("suites")
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    return frozenset(m.name for m in pkgutil.iter_modules(spec.submodule_search_locations))


def algorithm_of(nodeid: str, known: Iterable[str]) -> str | None:
    """The algorithm a test belongs to, from its file name or its parameter id."""
    names = frozenset(known)
    path, _, rest = nodeid.partition("::")
    stem = PurePosixPath(path).stem
    if stem.startswith("test_") and stem[5:] in names:
        return stem[5:]
    params = rest.partition("[")[2]
    for token in _SEPARATORS.split(params):
        base = token.split(".")[0]  # "<algorithm>.<mode>" is the algorithm
        if base in names:
            return base
    return None


def summary(
    seconds: Mapping[str, tuple[float, float]],
    workers: int,
    unattributed: float,
    budget: float = BUDGET_S,
    shown: int = SHOWN,
) -> list[str]:
    """The lines printed at the end of the session, from (wall, CPU) seconds per algorithm:
    the slowest (by CPU time) first, and those whose CPU share exceeds ``budget``."""
    ranked = sorted(seconds.items(), key=lambda kv: (-kv[1][1], kv[0]))
    per = f" / {workers} workers" if workers > 1 else ""
    lines = [
        f"slowest algorithms (setup + call + teardown; share = CPU seconds{per}; "
        f"budget {budget:g} s each):"
    ]
    for name, (wall, cpu) in ranked[:shown]:
        share = cpu / workers
        flag = "  OVER BUDGET" if share > budget else ""
        lines.append(
            f"  {name:<40} wall {wall:7.1f} s  CPU {cpu:7.1f} s  share {share:6.1f} s{flag}"
        )
    rest = ranked[shown:]
    if rest:
        lines.append(f"  ({len(rest)} more algorithms: CPU {sum(c for _, (_, c) in rest):.1f} s)")
    over = [n for n, (_, c) in ranked if c / workers > budget]
    if over:
        lines.append(f"  over the {budget:g} s budget: {', '.join(over)}")
    lines.append(
        f"  tests of no single algorithm (harness, reports, CLI): wall {unattributed:.1f} s"
    )
    return lines


class AlgorithmDurations:
    """Sums report durations per algorithm (on the xdist controller: every worker's)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.known = known_algorithms()
        self.seconds: defaultdict[str, tuple[float, float]] = defaultdict(lambda: (0.0, 0.0))
        self.unattributed = 0.0

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        algorithm = algorithm_of(report.nodeid, self.known)
        if algorithm is None:
            self.unattributed += report.duration
            return
        wall, cpu = self.seconds[algorithm]
        spent = getattr(report, "cpu_seconds", None)
        cpu_s = float(spent) if isinstance(spent, (int, float)) else report.duration
        self.seconds[algorithm] = (wall + report.duration, cpu + cpu_s)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.seconds:
            return
        terminalreporter.section("time per algorithm")
        for line in summary(self.seconds, self.workers(), self.unattributed):
            terminalreporter.write_line(line)

    def workers(self) -> int:
        count = self.config.getoption("numprocesses", None)
        return count if isinstance(count, int) and count > 1 else 1


class CpuClock:
    """Notes the CPU time of each phase on its report (``cpu_seconds``), in the process that
    runs the test: an xdist worker sends it to the controller with the report."""

    def __init__(self) -> None:
        self.started = 0.0

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        self.started = time.process_time()
        return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        self.started = time.process_time()
        return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, None, None]:
        self.started = time.process_time()
        return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        report.cpu_seconds = time.process_time() - self.started  # type: ignore[attr-defined]
        return report


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(CpuClock(), "shootout-cpu-clock")
    if hasattr(config, "workerinput"):  # an xdist worker: the controller sums and prints
        return
    config.pluginmanager.register(AlgorithmDurations(config), "shootout-algorithm-durations")
