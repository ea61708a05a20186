"""The ``shootout`` command line: list, describe, verify, bench and report, wrapping pytest."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from harness.supervise import add_options as add_robust_options
from harness.supervise import supervise, user_argv
from harness.watch import start_worker

EXIT_OK, EXIT_DISAGREE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
MIN_ROUNDS = 5  # pytest-benchmark's minimum rounds per bench cell
CELLS_MODULE = Path(__file__).with_name("cells.py")
ROOT = Path(__file__).resolve().parent.parent


class UsageError(Exception):
    """Bad usage or bad input: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    top = _Parser(
        prog="shootout",
        description="Verify and benchmark competing "
        "implementations of ML and computer-vision algorithms.",
    )
    sub = top.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(p: argparse.ArgumentParser, select: bool = True) -> None:
        p.add_argument(
            "--plugin",
            action="append",
            default=[],
            metavar="FILE_OR_MODULE",
            help="also load implementations from this file or module",
        )
        p.add_argument("--json", action="store_true", help="print machine-readable JSON")
        p.add_argument(
            "--threads",
            type=int,
            default=1,
            help="threads for every pool: BLAS, OpenMP, torch, numba (default 1)",
        )
        if select:
            p.add_argument("--algorithm", "-a", action="append", default=[])
            p.add_argument("--backend", "-b", action="append", default=[])
            p.add_argument("--variant", action="append", default=[])

    common(sub.add_parser("list", help="algorithms, implementations, availability here"))
    d = sub.add_parser("describe", help="the contract an implementation must follow")
    d.add_argument("algorithm")
    common(d, select=False)
    v = sub.add_parser("verify", help="check implementations against the float64 oracle")
    common(v)
    v.add_argument("--case", help="run only this case (by name)")
    v.add_argument("--case-json", help="run one ad-hoc case given as JSON (from a repro)")
    v.add_argument(
        "--fuzz",
        type=int,
        default=0,
        metavar="N",
        help="also draw N random cases per implementation (shrunk on failure)",
    )
    v.add_argument("--fuzz-seed", type=int, default=0)
    v.add_argument("--results", type=Path, help="also write the verdicts to this JSON file")
    v.add_argument("--verbose", "-v", action="store_true", help="one line per cell")
    add_robust_options(v, "verify")
    b = sub.add_parser("bench", help="verify and time every available implementation")
    common(b)
    b.add_argument("--profile", default="quick", help="smoke | quick | full")
    b.add_argument("--results-dir", type=Path, default=Path("results"))
    b.add_argument(
        "--max-time",
        type=float,
        default=None,
        help="seconds of timing per cell (default: 0.5 quick, 2 full)",
    )
    add_robust_options(b, "bench")
    g = sub.add_parser(
        "gate",
        help="compare this tree with a git ref cell by cell (exit 1: slower, wrong or over budget)",
    )
    common(g)
    g.add_argument("--base", metavar="REF", help="git ref to compare the current tree with")
    g.add_argument(
        "--self-test",
        action="store_true",
        help="A/A (same code both sides) must pass and an injected slowdown must be caught",
    )
    g.add_argument("--thresholds", type=Path, default=None, help="TOML (default: gate.toml)")
    g.add_argument("--budgets", type=Path, default=None, help="TOML (default: budgets.toml)")
    g.add_argument("--no-budgets", action="store_true", help="do not check budgets")
    g.add_argument(
        "--results",
        type=Path,
        default=None,
        help="check only the budgets, on this results file, without running anything",
    )
    g.add_argument("--rounds", type=int, default=None, help="interleaved rounds per side")
    g.add_argument(
        "--profile",
        default="standard",
        help="standard (each suite's standard case, the default) | smoke | quick | full",
    )
    g.add_argument("--max-time", type=float, default=0.05, help="seconds per cell per round")
    g.add_argument("--markdown", type=Path, default=None, help="write a Markdown summary here")
    g.add_argument("--json-out", type=Path, default=None, help="write the JSON result here")
    g.add_argument("--inject", default=None, help="self-test: implementation key to slow down")
    g.add_argument("--inject-factor", type=float, default=1.5)
    g.add_argument("--repeat", type=int, default=1, help="self-test: run it N times, report rates")
    r = sub.add_parser("report", help="build the HTML report from results files")
    r.add_argument("paths", nargs="*", type=Path, default=[Path("results")])
    r.add_argument("--out", type=Path, default=Path("site"))
    r.add_argument(
        "--csv",
        type=Path,
        default=None,
        help="also write the table behind the report (one row per implementation × case × "
        "machine × run) as CSV here",
    )
    r.add_argument("--parquet", type=Path, default=None, help="the same table as Parquet")
    r.add_argument(
        "--no-site", action="store_true", help="only export the table; leave --out untouched"
    )
    return top


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        if getattr(args, "threads", 1) < 1:
            raise UsageError("--threads must be at least 1")
        from harness.threads import pin_environment

        pin_environment(getattr(args, "threads", 1))
        # verify and bench run in a worker process: a crash or hang costs only its cell
        supervised = args.command in ("verify", "bench") and os.name == "posix"
        if supervised and args.shootout_worker is None:
            keeps = args.command == "bench" or args.results is not None
            return supervise(sys.argv[1:] if argv is None else list(argv), keeps)
        handler = {
            "list": cmd_list,
            "describe": cmd_describe,
            "verify": cmd_verify,
            "bench": cmd_bench,
            "report": cmd_report,
            "gate": cmd_gate,
        }[args.command]
        return handler(args)
    except UsageError as exc:
        print(f"shootout: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("shootout: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        from harness.gate import GateError
        from harness.registry import RegistryError
        from harness.results import ResultsError

        # OSError: a results path that cannot be written, a file that cannot be read
        if isinstance(exc, RegistryError | ResultsError | GateError | ValueError | OSError):
            print(f"shootout: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        raise


def _registry(args: argparse.Namespace) -> Any:
    from harness.registry import load_registry
    from harness.threads import apply

    registry = load_registry(args.plugin)
    args.thread_record = apply(args.threads)
    return registry


# ---- list / describe ------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    from harness.present import list_records, list_table

    registry = _registry(args)
    impls = registry.select(args.algorithm, args.backend, args.variant)
    records = list_records(registry, impls)
    print(json.dumps(records, indent=1) if args.json else list_table(records))
    return EXIT_OK


def cmd_describe(args: argparse.Namespace) -> int:
    from harness.present import describe

    registry = _registry(args)
    suite = registry.suite(args.algorithm)
    print(describe(suite, registry, as_json=args.json))
    return EXIT_OK


# ---- verify / bench -------------------------------------------------------------------


def _state(args: argparse.Namespace, mode: str, profile: str) -> Any:
    from harness.pytest_plugin import Selection, State
    from harness.results import Run

    registry = _registry(args)
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
    start_worker(state, args, mode)
    return state


def _run_pytest(state: Any, extra: list[str]) -> int:
    """Hand the cells to pytest in this process; its own terminal output is kept quiet."""
    import pytest

    from harness import pytest_plugin

    class Inject:
        @staticmethod
        def pytest_configure(config: pytest.Config) -> None:
            pytest_plugin.install_state(config, state)

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
        raise UsageError(f"pytest could not run the cells (exit {int(code)}): " + " | ".join(tail))
    return int(code)


def cmd_verify(args: argparse.Namespace) -> int:
    from harness.present import verdict_table

    state = _state(args, "verify", "quick")
    if state.results_path is None and (args.results or args.shootout_results):
        state.results_path = Path(args.results or args.shootout_results)
    state.save(complete=False)
    state.watch.announce(state.results_path)
    if state.watch.pending(state.cells()):
        _run_pytest(state, ["--benchmark-disable", *state.watch.pytest_options()])
    else:  # a resumed worker whose predecessor was lost in the last cell
        state.save(complete=True)
    verdicts = state.run.verdicts
    if args.json:
        print(json.dumps(verdicts, indent=1, default=str))
    else:
        print(verdict_table(verdicts, verbose=args.verbose, fuzz=state.fuzz_failures))
    bad = any(v["status"] in ("fail", "error") for v in verdicts)
    return EXIT_DISAGREE if bad else EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    from harness.ceilings import measure_ceilings
    from harness.ceilings import summary as ceilings_summary
    from harness.present import measurement_table
    from harness.spec import PROFILES

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
            _run_pytest(state, [*timing, *state.watch.pytest_options()])
    except KeyboardInterrupt:
        state.save(complete=False)
        print(
            f"shootout: interrupted; partial results kept in {state.results_path} "
            "(marked incomplete)",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    state.save(complete=True)
    records = state.run.measurements
    if args.json:
        print(json.dumps(records, indent=1, default=str))
    else:
        print(measurement_table(records))
        print(f"\nresults: {state.results_path}")
    bad = any(m["status"] in ("fail", "error") for m in records)
    return EXIT_DISAGREE if bad else EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from harness.results import find_results, write_atomic
    from reports.site import publish_frames
    from reports.table import cells, load_frames

    paths = find_results(args.paths)
    if not paths:
        raise UsageError(
            f"no results files in {', '.join(map(str, args.paths))} (run `shootout bench` first)"
        )
    if args.parquet is not None:
        import importlib.util

        if importlib.util.find_spec("pyarrow") is None:
            raise UsageError("--parquet needs pyarrow (pip install pyarrow); --csv needs nothing")
    if args.no_site and args.csv is None and args.parquet is None:
        raise UsageError("--no-site without --csv or --parquet would do nothing")
    frames = load_frames(paths)  # every file is checked before anything is written
    if args.csv is not None or args.parquet is not None:
        table = cells(frames)
        if args.csv is not None:
            write_atomic(args.csv, table.to_csv(index=False))
            print(f"table: {args.csv} ({len(table)} rows)")
        if args.parquet is not None:
            tmp = args.parquet.with_name(f".{args.parquet.name}.tmp")
            args.parquet.parent.mkdir(parents=True, exist_ok=True)
            table.to_parquet(tmp, index=False)
            os.replace(tmp, args.parquet)
            print(f"table: {args.parquet} ({len(table)} rows)")
    if args.no_site:
        return EXIT_OK
    try:
        index = publish_frames(frames, args.out)
    except FileExistsError as exc:
        raise UsageError(str(exc)) from None
    print(f"report: {index}")
    return EXIT_OK


# ---- gate -------------------------------------------------------------------------------


def cmd_gate(args: argparse.Namespace) -> int:
    from harness.gate_cli import run_gate_command

    return run_gate_command(args)
