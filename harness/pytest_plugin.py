"""The pytest plugin: expands implementation x case into test items and records their results."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.hygiene import Hygiene
from harness.registry import Registry, load_registry
from harness.results import Run
from harness.selection import Cell, Selection
from harness.shard import shard_option
from harness.spec import PROFILES, Case, ErrorCase, Suite
from harness.watch import CallClock, Watch

MODES = ("verify", "bench")


@dataclass
class State:
    """The run in progress: its registry, selection and the records gathered so far."""

    selection: Selection
    registry: Registry
    run: Run
    results_path: Path | None = None
    fuzz_failures: list[dict[str, Any]] = field(default_factory=list)
    # budgets, heartbeats to the supervisor, cells already recorded (harness.watch)
    watch: Watch = field(default_factory=Watch)
    # what cells leave behind in this process: restored, flagged (harness.hygiene)
    hygiene: Hygiene = field(default_factory=Hygiene)

    def cells(self) -> list[Cell]:
        sel = self.selection
        # only the selected implementations' modules are imported, and only here
        impls = [
            self.registry.loaded(i)
            for i in self.registry.select(sel.algorithms, sel.backends, sel.variants)
        ]
        cells: list[Cell] = []
        for algorithm in sorted({i.algorithm for i in impls}):
            suite = self.registry.suite(algorithm)
            mine = [i for i in impls if i.algorithm == algorithm]
            for case in self._cases(suite):
                cells += [Cell(sel.mode, suite, i, case) for i in mine]
            if sel.mode == "verify" and sel.fuzz > 0:
                cells += [Cell("fuzz", suite, i, None) for i in mine]
        if sel.shard is not None:
            from harness.partition import shard_cells

            cells = shard_cells(cells, sel.shard, sel.fuzz)
        return cells

    def _cases(self, suite: Suite) -> list[Case | ErrorCase]:
        sel = self.selection
        if sel.case_json:
            return [suite.resolve(Case.from_json(sel.case_json))]
        if sel.case:
            return [suite.find_case(sel.case)]
        if sel.mode == "bench":
            cases: list[Case | ErrorCase] = list(suite.cases_for_profile(sel.profile))
            if sel.standard_only:
                cases = [c for c in cases if c.name == suite.standard] or cases[-1:]
            return cases
        return [*suite.cases, *suite.error_cases]

    def save(self, complete: bool) -> None:
        if self.results_path is not None:
            if not self.run.implementations:  # once per run: a resumed one keeps its record
                from harness.provenance import provenance

                self.run.implementations = provenance(c.impl for c in self.cells())
            self.run.save(self.results_path, complete)


STATE_KEY = pytest.StashKey[State]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("opshootout")
    group.addoption("--shootout-mode", choices=MODES, default="verify")
    group.addoption("--shootout-algorithm", action="append", default=[])
    group.addoption("--shootout-backend", action="append", default=[])
    group.addoption("--shootout-variant", action="append", default=[])
    group.addoption("--shootout-case", default=None)
    group.addoption("--shootout-case-json", default=None)
    group.addoption("--shootout-profile", choices=PROFILES, default="quick")
    group.addoption(
        "--shootout-fuzz",
        type=int,
        default=0,
        help="also draw this many random cases per implementation",
    )
    group.addoption("--shootout-fuzz-seed", type=int, default=0)
    group.addoption("--shootout-plugin", action="append", default=[])
    group.addoption(
        "--shootout-shard",
        type=shard_option,
        default=None,
        help="K/N: run only part K of N (deterministic, balanced by predicted cost)",
    )
    group.addoption(
        "--shootout-results",
        default=None,
        help="write the run's results JSON here (atomically, as it goes)",
    )


def install_state(config: pytest.Config, state: State) -> None:
    """Used by the CLI, which builds the registry itself before handing over to pytest."""
    config.stash[STATE_KEY] = state


def get_state(config: pytest.Config) -> State:
    if STATE_KEY not in config.stash:
        opt = config.getoption
        selection = Selection(
            mode=opt("shootout_mode"),
            algorithms=tuple(opt("shootout_algorithm")),
            backends=tuple(opt("shootout_backend")),
            variants=tuple(opt("shootout_variant")),
            case=opt("shootout_case"),
            case_json=opt("shootout_case_json"),
            profile=opt("shootout_profile"),
            fuzz=opt("shootout_fuzz"),
            fuzz_seed=opt("shootout_fuzz_seed"),
            plugins=tuple(opt("shootout_plugin")),
            shard=opt("shootout_shard"),
        )
        results = opt("shootout_results")
        run = Run(command="pytest", profile=selection.profile, threads={})
        config.stash[STATE_KEY] = State(
            selection, load_registry(selection.plugins), run, Path(results) if results else None
        )
    return config.stash[STATE_KEY]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "shootout_cell" not in metafunc.fixturenames:
        return
    state = get_state(metafunc.config)
    cells = state.watch.pending(state.cells())
    metafunc.parametrize("shootout_cell", cells, ids=[c.id for c in cells])


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if STATE_KEY in session.config.stash:
        state = session.config.stash[STATE_KEY]
        interrupted = exitstatus == pytest.ExitCode.INTERRUPTED or session.shouldstop
        state.save(complete=not interrupted)


# ---- running one cell -------------------------------------------------------------------


def run_cell(cell: Cell, request: pytest.FixtureRequest) -> None:
    """Body of every generated test: run the cell, record it, turn it into an outcome."""
    state = get_state(request.config)
    run = state.run
    with state.watch.running(cell, run):
        try:
            pinned = run.threads.get("requested")
            with state.hygiene.cell(cell.id, run.verdicts, run.measurements, pinned):
                _run_cell(state, cell, request)
        finally:  # saved after the hygiene findings are in the cell's records
            if state.watch.due_for_save():
                state.save(complete=False)  # so a crash re-runs few cells (harness.supervise)


def _run_cell(state: State, cell: Cell, request: pytest.FixtureRequest) -> None:
    if cell.mode == "fuzz":
        _run_fuzz(state, cell)
        return
    assert cell.case is not None
    over_budget = state.watch.over_budget(cell)
    if over_budget:
        state.watch.record(state.run, cell, "skip", over_budget)
        pytest.skip(over_budget)
    if cell.mode == "bench":
        from harness.bench import flag, measure, pytest_benchmark_runner
        from harness.ceilings import beyond_roof
        from harness.prepare import input_bytes

        case = cell.case.as_case() if isinstance(cell.case, ErrorCase) else cell.case
        from harness.budget import first_call_compiles

        fixture = request.getfixturevalue("benchmark")
        compiles = first_call_compiles(cell.impl)
        runner = pytest_benchmark_runner(fixture, state.watch.timing, compiles)
        if not state.selection.verify_first:
            from harness.bench import time_only

            record = time_only(cell.suite, cell.impl, case, runner)
            state.run.measurements.append(record.as_dict())
            if record.status == "skip":
                pytest.skip(record.reason)
            return
        verdict, record = measure(cell.suite, cell.impl, case, runner)
        if record.status == "ok":
            footprint = input_bytes(cell.suite, case)
            record = flag(record, beyond_roof(record.as_dict(), state.run.ceilings, footprint))
        state.run.measurements.append(record.as_dict())
        state.run.verdicts.append(verdict.as_dict())
        state.watch.observe(cell, record.median_s or record.first_call_s)
    else:
        from harness.verify import verify

        clock = CallClock()
        verdict = verify(cell.suite, cell.impl, cell.case, on_call=clock)
        state.run.verdicts.append(verdict.as_dict())
        state.watch.observe(cell, clock.seconds)
    _outcome(verdict.status, verdict.detail, verdict.note, verdict.repro)


def _outcome(status: str, detail: str, note: str, repro: str) -> None:
    if status == "skip":
        pytest.skip(detail)
    if status == "xfail":
        pytest.xfail(note)
    if status in ("fail", "error"):
        pytest.fail(f"{status}: {detail}\n  re-run: {repro}", pytrace=False)


def _run_fuzz(state: State, cell: Cell) -> None:
    from harness.fuzz import fuzz
    from harness.verify import fuzz_session_verdict

    reason = cell.impl.unavailable_reason()
    if reason is None and cell.suite.fuzz is None:
        reason = f"{cell.suite.algorithm} has no fuzz strategy"
    if reason:  # recorded: a selected cell never goes missing from the results
        state.run.verdicts.append(fuzz_session_verdict(cell.impl, "skip", detail=reason).as_dict())
        pytest.skip(reason)
    outcome = fuzz(cell.suite, cell.impl, state.selection.fuzz, state.selection.fuzz_seed)
    if outcome.verdict is None:
        from harness.verify import fuzz_session_verdict

        agreed = outcome.examples - outcome.known
        note = f"{agreed} random cases agreed with the oracle (seed {state.selection.fuzz_seed})"
        if outcome.known:
            note += f"; {outcome.known} differed only where a known divergence is documented"
        state.run.verdicts.append(fuzz_session_verdict(cell.impl, "pass", note=note).as_dict())
        return
    verdict, case = outcome.verdict, outcome.case
    assert case is not None
    state.run.verdicts.append(verdict.as_dict())
    state.fuzz_failures.append(
        {
            "impl": cell.impl.key,
            "case": json.loads(case.to_json()),
            "detail": verdict.detail,
            "repro": verdict.repro,
        }
    )
    _outcome(
        verdict.status,
        f"{verdict.detail}\n  shrunk case: {case.to_json()}",
        verdict.note,
        verdict.repro,
    )
