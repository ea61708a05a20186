"""The ``shootout`` argument parser and dispatch: each command lives in its own module."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from harness.deps import missing_dependency
from harness.numbers import positive_seconds, slowdown_factor, whole_count
from harness.progress import add_quiet_option, command_clock
from harness.shard import shard_option
from harness.supervise import add_options as add_robust_options
from harness.supervise import report_exit, supervise
from shootout.output import add_markdown_option, closed_pipe, flushed, stdout_closed
from shootout.usage import COMMAND, EXIT_INTERRUPTED, EXIT_USAGE, UsageError


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
        p.add_argument(
            "--no-entry-points",
            action="store_true",
            help="ignore implementations installed packages register (also: "
            "OPSHOOTOUT_NO_ENTRY_POINTS=1)",
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

    def shard(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--shard",
            type=shard_option,
            default=None,
            metavar="K/N",
            help="run only part K of N of the selected cells (whole algorithms, balanced "
            "by predicted cost, the same split on every machine)",
        )

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
        type=whole_count,
        default=0,
        metavar="N",
        help="also draw N random cases per implementation (shrunk on failure)",
    )
    v.add_argument("--fuzz-seed", type=int, default=0)
    v.add_argument("--results", type=Path, help="also write the verdicts to this JSON file")
    v.add_argument("--verbose", "-v", action="store_true", help="one line per cell")
    add_robust_options(v, "verify")
    shard(v)
    add_quiet_option(v)
    add_markdown_option(v)
    b = sub.add_parser("bench", help="verify and time every available implementation")
    common(b)
    b.add_argument("--profile", default="quick", help="smoke | quick | full")
    b.add_argument("--results-dir", type=Path, default=Path("results"))
    b.add_argument(
        "--max-time",
        type=positive_seconds,
        default=None,
        help="seconds of timing per fast cell (default: 0.1 quick, 2 full)",
    )
    add_robust_options(b, "bench")
    shard(b)
    add_quiet_option(b)
    add_markdown_option(b)
    g = sub.add_parser(
        "gate",
        help="compare this tree with a git ref cell by cell (exit 1: slower, wrong or over budget)",
    )
    common(g)
    g.add_argument("--base", metavar="REF", help="git ref to compare the current tree with")
    g.add_argument(
        "--all",
        action="store_true",
        help="with --base: time every cell (nightly), not only those the change can affect",
    )
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
    g.add_argument(
        "--max-time", type=positive_seconds, default=0.05, help="seconds per cell per round"
    )
    g.add_argument("--markdown", type=Path, default=None, help="write a Markdown summary here")
    g.add_argument("--json-out", type=Path, default=None, help="write the JSON result here")
    g.add_argument("--inject", default=None, help="self-test: implementation key to slow down")
    g.add_argument("--inject-factor", type=slowdown_factor, default=1.5)
    g.add_argument("--repeat", type=int, default=1, help="self-test: run it N times, report rates")
    add_quiet_option(g)
    c = sub.add_parser(
        "compare",
        help="two results files cell by cell with the gate's statistics (exit 1: B slower)",
    )
    c.add_argument("a", type=Path, metavar="A.json", help="the base run")
    c.add_argument("b", type=Path, metavar="B.json", help="the run compared with it")
    c.add_argument("--json", action="store_true", help="print machine-readable JSON")
    c.add_argument("--thresholds", type=Path, default=None, help="TOML (default: gate.toml)")
    c.add_argument(
        "--force", action="store_true", help="compare even files from two different machines"
    )
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
    r.add_argument("--json", action="store_true", help="print machine-readable JSON")
    return top


def main(argv: list[str] | None = None) -> int:
    try:
        code = _main(argv)
    except Exception:
        report_exit(1)
        raise
    return report_exit(code)  # a supervised worker says it finished (harness.supervise)


def _main(argv: list[str] | None) -> int:
    try:
        args = _parser().parse_args(argv)
        if getattr(args, "threads", 1) < 1:
            raise UsageError("--threads must be at least 1")
        if getattr(args, "no_entry_points", False):  # workers and the gate's rounds inherit it
            os.environ["OPSHOOTOUT_NO_ENTRY_POINTS"] = "1"
        from harness.threads import pin_environment

        pin_environment(getattr(args, "threads", 1))
        # verify and bench run in a worker process: a crash or hang costs only its cell
        supervised = args.command in ("verify", "bench") and os.name == "posix"
        if supervised and args.shootout_worker is None:
            keeps = args.command == "bench" or args.results is not None
            from harness.ownership import own_results

            # one run per results file; a restarted worker's elapsed time goes on
            with own_results(getattr(args, "results", None)), command_clock():
                return supervise(sys.argv[1:] if argv is None else list(argv), keeps, list(COMMAND))
        return flushed(_handler(args.command)(args))
    except BrokenPipeError as exc:
        if stdout_closed():  # `shootout list | head -1`: the reader has what it wanted
            return closed_pipe()
        print(f"shootout: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"shootout: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("shootout: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ImportError as exc:
        message = missing_dependency(exc)
        if message is None:
            raise
        print(f"shootout: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        from harness.gate import GateError
        from harness.registry import RegistryError
        from harness.results import ResultsError

        # OSError: a results path that cannot be written, a file that cannot be read
        errors: tuple[type[BaseException], ...] = (
            RegistryError, ResultsError, GateError, ValueError, OSError,
        )  # fmt: skip
        session = sys.modules.get("harness.session")  # (it imports pytest: only if loaded)
        if session is not None:
            errors += (session.SessionError,)
        if isinstance(exc, errors):
            print(f"shootout: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        raise


def _handler(command: str) -> Callable[[argparse.Namespace], int]:
    """The command's function. Its module is imported only now, after the thread pools
    were pinned: they must be configured before NumPy is imported."""
    if command in ("list", "describe"):
        from shootout import catalog

        return catalog.cmd_list if command == "list" else catalog.cmd_describe
    if command in ("verify", "bench"):
        from shootout import verify_bench

        return verify_bench.cmd_verify if command == "verify" else verify_bench.cmd_bench
    if command == "compare":
        from shootout.compare import cmd_compare

        return cmd_compare
    if command == "report":
        from shootout.report import cmd_report

        return cmd_report
    from shootout.gate import cmd_gate

    return cmd_gate
