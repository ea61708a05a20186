"""The ``verify`` and ``bench`` commands: a run's cells, handed to pytest in a worker process."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from harness.supervise import Link, cell_timeout, user_argv
from shootout.usage import (
    EXIT_DISAGREE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    UsageError,
    load_registry,
)

if TYPE_CHECKING:
    from harness.pytest_plugin import State

MIN_ROUNDS = 5  # pytest-benchmark's minimum rounds per bench cell


def _state(args: argparse.Namespace, mode: str, profile: str) -> State:
    from harness.pytest_plugin import State
    from harness.results import Run
    from harness.selection import Selection

    registry = load_registry(args)
    selection = Selection(
        mode=mode,
        algorithms=tuple(args.algorithm),
        backends=tuple(args.backend),
        variants=tuple(args.variant),
        case=getattr(args, "case", None),
        case_json=getattr(args, "case_json", None),
        profile=profile,
        fuzz=getattr(args, "fuzz", 0),
        fuzz_seed=getattr(args, "fuzz_seed", 0),
        plugins=tuple(args.plugin),
    )
    command = "shootout " + " ".join(user_argv(sys.argv[1:])) if sys.argv else "shootout"
    run = Run(
        command=command, profile=profile if mode == "bench" else None, threads=args.thread_record
    )
    state = State(selection, registry, run)
    cells = state.cells()  # validates --case / --case-json before anything runs
    if not cells:
        raise UsageError("the selection matches no implementation (see `shootout list`)")
    _start_worker(state, args, mode)
    return state


def _start_worker(state: State, args: argparse.Namespace, mode: str) -> None:
    """Set the worker up from its command line: budgets, the supervisor's pipe, and the
    results file to continue (recording first the cell the previous worker lost)."""
    from harness.results import Run, load_results

    watch = state.watch
    watch.budget, watch.timeout = args.cell_budget, cell_timeout(args, mode)
    watch.fuzz = (getattr(args, "fuzz", 0), getattr(args, "fuzz_seed", 0))
    if args.shootout_worker is not None:
        watch.link = Link(args.shootout_worker)
        watch.link.take_over()
    if args.shootout_resume:
        state.results_path = Path(args.shootout_resume)
        state.run = Run.from_document(load_results(state.results_path))
        lost = json.loads(args.shootout_lost) if args.shootout_lost else None
        watch.resume(state.run, state.cells(), lost)


def cmd_verify(args: argparse.Namespace) -> int:
    from harness.session import run_pytest
    from shootout.present import verdict_table

    state = _state(args, "verify", "quick")
    if state.results_path is None and (args.results or args.shootout_results):
        state.results_path = Path(args.results or args.shootout_results)
    state.save(complete=False)
    state.watch.announce(state.results_path)
    if state.watch.pending(state.cells()):
        run_pytest(state, ["--benchmark-disable", *state.watch.pytest_options()])
    incomplete = _close(state, "verify")
    state.save(complete=True)
    verdicts = state.run.verdicts
    if args.json:
        print(json.dumps(verdicts, indent=1, default=str))
    else:
        print(verdict_table(verdicts, verbose=args.verbose, fuzz=state.fuzz_failures))
    bad = any(v["status"] in ("fail", "error") for v in verdicts)
    return EXIT_DISAGREE if bad or incomplete else EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    from harness.ceilings import measure_ceilings
    from harness.ceilings import summary as ceilings_summary
    from harness.session import run_pytest
    from harness.spec import PROFILES
    from shootout.present import measurement_table

    if args.profile not in PROFILES:
        raise UsageError(f"unknown profile {args.profile!r} (known: {', '.join(PROFILES)})")
    state = _state(args, "bench", args.profile)
    state.results_path = state.results_path or state.run.default_path(args.results_dir)
    max_time = args.max_time or (2.0 if args.profile == "full" else 0.5)
    state.watch.min_rounds, state.watch.max_time = MIN_ROUNDS, max_time
    if not state.run.ceilings:  # a resumed worker continues a run that has them
        # The machine's limits for the roofline, under the thread settings _state applied.
        impls = [cell.impl for cell in state.cells()]
        backends = {i.backend for i in impls} | {i.arrays for i in impls}
        effort = "smoke" if args.profile == "smoke" else "quick"
        state.run.ceilings = measure_ceilings(backends, effort=effort)
        print(ceilings_summary(state.run.ceilings), file=sys.stderr)
    state.save(complete=False)
    state.watch.announce(state.results_path)
    timing = [
        "--benchmark-enable",
        f"--benchmark-max-time={max_time}",
        f"--benchmark-min-rounds={MIN_ROUNDS}",
        "--benchmark-warmup=on",
        "--benchmark-warmup-iterations=1",
        "--benchmark-disable-gc",
        "--benchmark-timer=time.perf_counter",
    ]
    try:
        if state.watch.pending(state.cells()):
            run_pytest(state, [*timing, *state.watch.pytest_options()])
    except KeyboardInterrupt:
        state.save(complete=False)
        print(
            f"shootout: interrupted; partial results kept in {state.results_path} "
            "(marked incomplete)",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    incomplete = _close(state, "bench")
    state.save(complete=True)
    records = state.run.measurements
    if args.json:
        print(json.dumps(records, indent=1, default=str))
    else:
        print(measurement_table(records))
        print(f"\nresults: {state.results_path}")
    bad = any(m["status"] in ("fail", "error") for m in records)
    return EXIT_DISAGREE if bad or incomplete else EXIT_OK


def _close(state: State, mode: str) -> bool:
    """The completeness check that ends every run (harness.complete); True when it failed."""
    from harness.complete import close

    lines = close(state.run, state.cells(), mode, state.watch.fuzz)
    for line in lines:
        print(f"shootout: error: {line}" if not line.startswith(" ") else line, file=sys.stderr)
    return bool(lines)
