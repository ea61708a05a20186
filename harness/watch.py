"""The worker's side of a robust run: heartbeats, predicted-time skips and resuming.

Every cell is announced to the supervisor (harness.supervise) before it runs and after it
is recorded. Before a cell runs, its wall time is predicted from the same implementation's
smaller cases in this run; a cell predicted over ``--cell-budget`` is skipped with the
prediction as its reason, instead of running until ``--cell-timeout`` kills it.
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.budget import Timing
from harness.escapes import one_line, stops_the_run
from harness.reap import Leftovers
from harness.supervise import TIMED_OUT, Link, seconds_text

if TYPE_CHECKING:
    from harness.progress import Estimate, Progress
    from harness.registry import Implementation
    from harness.results import Run
    from harness.selection import Cell

# A run saves its results file at most this often (and at its end): a crash re-runs the
# cells of at most that long. Saving after every cell rewrote a growing file, quadratic in
# the cells: 40 % of a quick-profile bench at 94 algorithms.
SAVE_EVERY_S = 2.0


#: Extrapolate a call's time from cases at most this many times smaller (in flops).
SCALE_LIMIT = 100.0


class CellError(RuntimeError):
    """A cell's body escaped with an exception pytest would not take as the test's failure
    (a KeyboardInterrupt would stop the session): it is recorded, and this replaces it."""


def _pytest_exit() -> type[BaseException]:
    """The exception of ``pytest.exit``, which pytest lets through to stop the session."""
    import pytest

    return pytest.exit.Exception


def predict_call_seconds(history: Iterable[tuple[float, float]], flops: float) -> float | None:
    """Seconds of one call costing ``flops``, from (flops, seconds) of smaller calls.

    Time is taken as proportional to the suite's cost model, at the fastest rate a smaller
    case showed: call overhead, or a first call that compiled, only slow the rate down, so
    the prediction errs short and a cell is skipped only when even the most favourable
    extrapolation is over budget. Cases over ``SCALE_LIMIT`` times smaller are not used: a
    fixed overhead (a library's setup, a kernel launch) would dominate them and scale up
    into minutes. None when nothing near enough was measured (the cell then runs, bounded
    by the cell timeout).
    """
    rates = [
        seconds / f
        for f, seconds in history
        if flops / SCALE_LIMIT <= f < flops and f > 0 and seconds > 0
    ]
    return min(rates) * flops if rates else None


def cell_seconds(
    per_call: float,
    mode: str,
    min_rounds: int,
    max_time: float,
    round_budget: float | None = None,
) -> float:
    """Wall time of a cell whose calls take ``per_call``: verify makes one call; bench makes
    the first call, then (harness.budget.Timing) pytest-benchmark's extra calls and at least
    ``min_rounds`` rounds, about ``max_time`` seconds of them when calls are short, or, for
    a call too slow for ``round_budget``, one warm call and the rounds the budget holds."""
    if mode != "bench":
        return per_call
    timing = Timing(max_time, min_rounds, round_budget)
    return per_call + timing.after_first_call(per_call, per_call, stateful=False)


def floor_seconds(floors: Iterable[tuple[float, float]], flops: float) -> float | None:
    """A cell that timed out after S seconds at f flops takes at least S * F / f at F >= f."""
    bounds = [seconds * flops / f for f, seconds in floors if 0 < f <= flops]
    return max(bounds) if bounds else None


def skip_reason(predicted: float, budget: float) -> str:
    return f"skipped: predicted {seconds_text(predicted)} s > budget {budget:g} s"


def record_id(record: dict[str, Any]) -> str:
    """The cell id (harness.selection.Cell.id) of a verdict or measurement record."""
    return "/".join(str(record[k]) for k in ("algorithm", "backend", "variant", "case"))


def unrun_records(
    cell: Cell, status: str, detail: str, fuzz: tuple[int, int] = (0, 0)
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The verdict (and, benchmarking, the measurement) of a cell that did not run through:
    skipped on a prediction, or lost to a crash, a timeout or an escaped exception.

    ``fuzz`` (examples, seed) rebuilds the command that re-runs a lost fuzz session."""
    from harness.bench import not_timed
    from harness.spec import ErrorCase
    from harness.verify import fuzz_session_verdict, unrun_verdict

    impl = cell.impl
    if cell.case is None:  # a fuzz session
        repro = _fuzz_repro(impl, *fuzz)
        return fuzz_session_verdict(impl, status, detail=detail, repro=repro).as_dict(), None
    verdict = unrun_verdict(impl, cell.case, status, detail)
    if cell.mode != "bench":
        return verdict.as_dict(), None
    case = cell.case.as_case() if isinstance(cell.case, ErrorCase) else cell.case
    return verdict.as_dict(), not_timed(cell.suite, impl, case, verdict, None).as_dict()


def _fuzz_repro(impl: Implementation, examples: int, seed: int) -> str:
    parts = ["shootout", "verify", "--algorithm", impl.algorithm, "--backend", impl.backend]
    parts += ["--variant", impl.variant, "--fuzz", str(examples), "--fuzz-seed", str(seed)]
    if impl.origin.startswith("plugin:"):
        parts += ["--plugin", impl.origin.removeprefix("plugin:")]
    return shlex.join(parts)


class CallClock:
    """An ``on_call`` for harness.verify.verify that also notes how long the call took."""

    def __init__(self) -> None:
        self.seconds: float | None = None

    def __call__(self, target: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        out = target()
        self.seconds = time.perf_counter() - start
        return out


@dataclass
class Watch:
    """What the worker knows across cells: budgets, timings so far, cells already recorded.

    The default (no budget, no link) changes nothing: plain pytest runs and in-process
    callers get their cells run exactly as before.
    """

    budget: float | None = None  # --cell-budget; None: never predict
    timeout: float | None = None  # --cell-timeout, sent to the supervisor with each cell
    memory: str | None = None  # --cell-memory as typed, sent likewise (harness.memory)
    min_rounds: int = 5
    max_time: float = 0.0
    round_budget: float | None = None  # seconds of rounds a slow bench call may take
    link: Link | None = None
    fuzz: tuple[int, int] = (0, 0)  # --fuzz, --fuzz-seed: for the repro of a lost session
    done: set[str] = field(default_factory=set)
    calls: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    floors: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    saved_at: float = field(default_factory=time.monotonic)
    leftovers: Leftovers = field(default_factory=Leftovers)  # processes a cell leaves behind

    @property
    def timing(self) -> Timing | None:
        """The bench timing rule with a round budget, or None (pytest-benchmark's own)."""
        if self.round_budget is None:
            return None
        return Timing(self.max_time, self.min_rounds, self.round_budget)

    progress: Progress | None = None  # cells done of the run's, on stderr (harness.progress)
    plan: tuple[Cell, ...] = ()
    flops: dict[str, float] = field(default_factory=dict)  # per cell id, for the estimate

    def pending(self, cells: Sequence[Cell]) -> list[Cell]:
        return [c for c in cells if c.id not in self.done]

    def pytest_options(self) -> list[str]:
        # The worker's faulthandler writes to the supervisor's pipe; pytest's would take over.
        return ["-p", "no:faulthandler"] if self.link is not None else []

    def announce(self, results: Path | None, run_id: str = "") -> None:
        """Tell the supervisor which file, holding which run, a new worker continues."""
        if self.link is not None and results is not None:
            self.link.send(results=str(results), run=run_id)

    @contextmanager
    def running(self, cell: Cell, run: Run) -> Iterator[None]:
        """Around one cell: the heartbeats, and a verdict even when the cell's body escapes
        with any exception but an interrupt of the run (harness.escapes): SystemExit,
        asyncio.CancelledError, a KeyboardInterrupt the implementation raised, a harness
        error. One that would stop pytest's session (a KeyboardInterrupt, ``pytest.exit``)
        comes out as CellError, which pytest counts as the test's failure."""
        if self.link is not None:
            self.link.send(start=cell.id, timeout=self.timeout, **self._memory_limit())
        self.leftovers.begin()
        if self.progress is not None:
            self.progress.begin(cell.id, self.remaining, kind=cell.mode)
        before = (len(run.verdicts), len(run.measurements))
        try:
            yield
        except BaseException as exc:
            if stops_the_run(exc):
                raise
            recorded = (len(run.verdicts), len(run.measurements)) != before
            detail = f"raised {one_line(exc)}"
            if not recorded:
                self.record(run, cell, "error", detail)
            if isinstance(exc, KeyboardInterrupt | _pytest_exit()):
                raise CellError(f"{cell.id}: {detail}") from exc
            raise
        finally:
            killed = self.leftovers.end()
            if killed and self.link is not None:
                print(
                    f"shootout: {cell.id} left {len(killed)} process(es) running, killed: "
                    + ", ".join(killed),
                    file=sys.stderr,
                )
            self.done.add(cell.id)
            if self.link is not None:
                self.link.send(end=cell.id)
            if self.progress is not None:
                bad = {"fail", "error"} & {v["status"] for v in run.verdicts[before[0] :]}
                self.progress.end(ok=not bad)

    def follow(self, progress: Progress, cells: Sequence[Cell]) -> None:
        """Show ``progress`` over ``cells``, counting those already recorded as done."""
        self.progress, self.plan = progress, tuple(cells)
        progress.total = len(self.plan)
        progress.done = sum(1 for c in self.plan if c.id in self.done)
        progress.planned = True

    def finished(self) -> None:
        if self.progress is not None:
            self.progress.finish()

    def remaining(self) -> Estimate:
        """Predicted seconds of the cells not done yet that have a prediction (one over
        the budget will be skipped: none), and how many have none. Never runs an oracle
        ahead of its cell: a suite whose cost needs the answer is left to the average."""
        from harness.prepare import case_cost
        from harness.spec import Case

        seconds, unknown = 0.0, 0
        for cell in self.plan:
            if cell.id in self.done:
                continue
            case, key = cell.case, cell.impl.key
            predicted = None
            history = self.calls.get(key) or self.floors.get(key)
            if history and isinstance(case, Case) and not cell.suite.cost_needs_output:
                if cell.id not in self.flops:
                    self.flops[cell.id] = case_cost(cell.suite, case).flops
                predicted = self.predict(key, self.flops[cell.id], cell.mode)
            if predicted is None:
                unknown += 1
            elif self.budget is None or predicted <= self.budget:
                seconds += predicted
        return seconds, unknown

    def _memory_limit(self) -> dict[str, Any]:
        """The limit, and this worker's resident memory now: the cell is held to the limit
        above it (the supervisor watches; a limit on address space would fail CUDA)."""
        if self.memory is None:
            return {}
        from harness.memory import parse_size, resident_bytes

        limit = {"limit": parse_size(self.memory), "text": self.memory, "base": resident_bytes()}
        return {"memory": limit}

    def record(self, run: Run, cell: Cell, status: str, detail: str) -> None:
        verdict, measurement = unrun_records(cell, status, detail, self.fuzz)
        run.verdicts.append(verdict)
        if measurement is not None:
            run.measurements.append(measurement)
        self.done.add(cell.id)

    def over_budget(self, cell: Cell) -> str | None:
        """The skip reason when the cell's predicted time exceeds the budget, else None."""
        from harness.prepare import case_cost, over_cap
        from harness.spec import ErrorCase

        case = cell.case
        if self.budget is None or case is None or isinstance(case, ErrorCase):
            return None
        if cell.impl.unavailable_reason() or over_cap(cell.suite, cell.impl, case):
            return None  # skipped anyway, with the reason that does not depend on timing
        predicted = self.predict(cell.impl.key, case_cost(cell.suite, case).flops, cell.mode)
        if predicted is None or predicted <= self.budget:
            return None
        return skip_reason(predicted, self.budget)

    def predict(self, key: str, flops: float, mode: str) -> float | None:
        call = predict_call_seconds(self.calls.get(key, ()), flops)
        estimates = [floor_seconds(self.floors.get(key, ()), flops)]
        if call is not None:
            estimates.append(
                cell_seconds(call, mode, self.min_rounds, self.max_time, self.round_budget)
            )
        return max((e for e in estimates if e is not None), default=None)

    def observe(self, cell: Cell, seconds: float | None) -> None:
        """Note one call's seconds (verify: the call; bench: the median) for predictions."""
        from harness.prepare import case_cost
        from harness.spec import ErrorCase

        if seconds and cell.case is not None and not isinstance(cell.case, ErrorCase):
            flops = case_cost(cell.suite, cell.case).flops
            self.calls.setdefault(cell.impl.key, []).append((flops, seconds))

    def due_for_save(self) -> bool:
        now = time.monotonic()
        if now - self.saved_at < SAVE_EVERY_S:
            return False
        self.saved_at = now
        return True

    def resume(self, run: Run, cells: Sequence[Cell], lost: dict[str, str] | None) -> None:
        """Continue a partial run: its recorded cells are done, the lost one is an error,
        and its timings (and timeouts, as lower bounds) feed the predictions again."""
        from harness.prepare import case_cost
        from harness.spec import ErrorCase

        by_id = {c.id: c for c in cells}
        self.done = {record_id(v) for v in run.verdicts}
        if lost and "rest" in lost:  # the workers keep ending between cells: stop trying
            for left in self.pending(cells):
                self.record(run, left, "error", lost["rest"])
        elif lost and lost["cell"] in by_id and lost["cell"] not in self.done:
            self.record(run, by_id[lost["cell"]], "error", lost["detail"])
        for v in run.verdicts:
            cell, timed_out = by_id.get(record_id(v)), TIMED_OUT.match(v.get("detail") or "")
            if cell and timed_out and cell.case and not isinstance(cell.case, ErrorCase):
                flops = case_cost(cell.suite, cell.case).flops
                self.floors.setdefault(cell.impl.key, []).append((flops, float(timed_out[1])))
        for m in run.measurements:
            cell = by_id.get(record_id(m))
            if cell is not None and m.get("status") == "ok":
                self.observe(cell, m.get("median_s"))
