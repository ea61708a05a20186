"""The ``verify`` and ``bench`` commands: a run's cells, handed to pytest in a worker process."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from harness.progress import Progress
from harness.supervise import Link, cell_timeout, user_argv
from shootout.output import job_summary, json_document
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


def _state(args: argparse.Namespace, mode: str, profile: str) -> State | None:
    """The run's state, its worker set up; None for a ``--shard`` that has no cells."""
    from harness.pytest_plugin import State
    from harness.results import Run
    from harness.selection import Selection
    from harness.threads import apply

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
        shard=args.shard,
    )
    command = "shootout " + " ".join(user_argv(sys.argv[1:])) if sys.argv else "shootout"
    run = Run(
        command=command, profile=profile if mode == "bench" else None, threads=args.thread_record
    )
    state = State(selection, registry, run)
    cells = state.cells()  # validates --case / --case-json before anything runs
    # the cells' modules are imported now: pin and record the pools of what they loaded
    run.threads = args.thread_record = apply(args.threads)
    if selection.shard is not None and _empty_shard(state, args):
        if args.shootout_worker is not None:  # the supervisor must not take this for a loss
            Link(args.shootout_worker).send(empty=True)
        return None  # more shards than algorithms: nothing to do here, and that is fine
    if not cells:
        raise UsageError("the selection matches no implementation (see `shootout list`)")
    _start_worker(state, args, mode)
    return state


def _empty_shard(state: State, args: argparse.Namespace) -> bool:
    """Print what this ``--shard`` runs (not again in a resumed worker); True when it has
    no cells although the whole selection has some."""
    from harness.partition import describe
    from harness.pytest_plugin import State

    shard = state.selection.shard
    assert shard is not None
    whole = State(replace(state.selection, shard=None), state.registry, state.run).cells()
    if not args.shootout_resume:
        print(describe(whole, shard, state.selection.fuzz), file=sys.stderr)
    return bool(whole) and not state.cells()


def _start_worker(state: State, args: argparse.Namespace, mode: str) -> None:
    """Set the worker up from its command line: budgets, the supervisor's pipe, and the
    results file to continue (recording first the cell the previous worker lost)."""
    from harness.results import ResultsError, Run, load_results

    watch = state.watch
    watch.budget, watch.timeout = args.cell_budget, cell_timeout(args, mode)
    watch.memory = args.cell_memory
    watch.fuzz = (getattr(args, "fuzz", 0), getattr(args, "fuzz_seed", 0))
    if args.shootout_worker is not None:
        watch.link = Link(args.shootout_worker)
        watch.link.take_over()
    if args.shootout_resume:
        state.results_path = Path(args.shootout_resume)
        state.run = Run.from_document(load_results(state.results_path))
        if args.shootout_run and state.run.run_id != args.shootout_run:
            raise ResultsError(
                f"results file {str(state.results_path)!r} now holds another run "
                f"({state.run.run_id}, not {args.shootout_run}): something else wrote to it "
                "during this run, which stops rather than mix the two"
            )
        lost = json.loads(args.shootout_lost) if args.shootout_lost else None
        watch.resume(state.run, state.cells(), lost)
    watch.follow(Progress.to_stderr(mode, quiet=args.quiet), state.cells())


def cmd_verify(args: argparse.Namespace) -> int:
    from harness.session import run_pytest
    from shootout.present import verdict_table
    from shootout.summary import verify_markdown

    state = _state(args, "verify", "quick")
    if state is None:
        return EXIT_OK
    if state.results_path is None and (args.results or args.shootout_results):
        state.results_path = Path(args.results or args.shootout_results)
    state.save(complete=False)
    state.watch.announce(state.results_path, state.run.run_id)
    if state.watch.pending(state.cells()):
        run_pytest(state, ["--benchmark-disable", *state.watch.pytest_options()])
    incomplete = _close(state, "verify")
    state.save(complete=True)
    state.watch.finished()
    verdicts = state.run.verdicts
    bad = any(v["status"] in ("fail", "error") for v in verdicts)
    job_summary(args.markdown, verify_markdown(verdicts, state.fuzz_failures))
    if args.json:
        print(json_document("verify", passed=not bad, verdicts=verdicts, fuzz=state.fuzz_failures))
    else:
        print(verdict_table(verdicts, verbose=args.verbose, fuzz=state.fuzz_failures))
    return EXIT_DISAGREE if bad or incomplete else EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    from harness.budget import TIMINGS
    from harness.ceilings import measure_ceilings
    from harness.ceilings import summary as ceilings_summary
    from harness.session import run_pytest
    from harness.spec import PROFILES
    from shootout.predict import predict_run
    from shootout.present import measurement_table
    from shootout.summary import bench_markdown

    if args.profile not in PROFILES:
        raise UsageError(f"unknown profile {args.profile!r} (known: {', '.join(PROFILES)})")
    state = _state(args, "bench", args.profile)
    if state is None:
        return EXIT_OK
    state.results_path = state.results_path or state.run.default_path(args.results_dir)
    rule = TIMINGS[args.profile].with_max_time(args.max_time)
    max_time = rule.max_time
    watch = state.watch
    watch.min_rounds, watch.max_time, watch.round_budget = MIN_ROUNDS, max_time, rule.round_budget
    fresh = not state.run.ceilings  # a resumed worker continues a run that has them
    if fresh:
        # The machine's limits for the roofline, under the thread settings _state applied.
        impls = [cell.impl for cell in state.cells()]
        backends = {i.backend for i in impls} | {i.arrays for i in impls}
        effort = "smoke" if args.profile == "smoke" else "quick"
        if state.watch.progress is not None:
            state.watch.progress.note("measuring this machine's bandwidth and matmul peak")
        state.run.ceilings = measure_ceilings(backends, effort=effort)
        print(ceilings_summary(state.run.ceilings), file=sys.stderr)
    predicted = predict_run(state, args.profile, rule, announce=fresh)
    state.save(complete=False)
    state.watch.announce(state.results_path, state.run.run_id)
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
    state.watch.finished()
    records = state.run.measurements
    bad = any(m["status"] in ("fail", "error") for m in records)
    job_summary(args.markdown, bench_markdown(records, state.results_path))
    if args.json:
        print(
            json_document(
                "bench",
                passed=not bad,
                results=state.results_path,
                predicted=predicted,
                measurements=records,
            )
        )
    else:
        print(measurement_table(records))
        print(f"\nresults: {state.results_path}")
    return EXIT_DISAGREE if bad or incomplete else EXIT_OK


def _close(state: State, mode: str) -> bool:
    """The completeness check that ends every run (harness.complete); True when it failed."""
    from harness.complete import close

    lines = close(state.run, state.cells(), mode, state.watch.fuzz)
    for line in lines:
        print(f"shootout: error: {line}" if not line.startswith(" ") else line, file=sys.stderr)
    return bool(lines)
