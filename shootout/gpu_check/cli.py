"""The GPU check's command line: its options, one-line usage errors (exit 2), and the
dispatch to the whole check or to one phase's own process (``--phase``, internal)."""

from __future__ import annotations

import argparse
import datetime as dt
import math
import pkgutil
import sys
import time
from pathlib import Path
from typing import NoReturn

from shootout.gpu_check.check import DEFAULT_BUDGET_S, ROOT, Check
from shootout.usage import EXIT_USAGE, UsageError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="python -m shootout.gpu_check",
        description="On a CUDA machine: verify and time the GPU cells, measure the device's "
        "ceilings and record golden fixtures, inside a time budget; everything goes to one "
        "folder. Without a CUDA device the GPU parts are reported as skipped (exit 0).",
    )
    p.add_argument("--out", type=Path, default=None, help="a new or empty folder for the output")
    p.add_argument(
        "--budget",
        type=_positive,
        default=DEFAULT_BUDGET_S,
        metavar="SECONDS",
        help=f"wall time of the whole check (default {DEFAULT_BUDGET_S:g})",
    )
    p.add_argument(
        "--smoke",
        action="store_true",
        help="a quick run to see that the check works here: smallest bench case, few rounds, "
        "no ceilings (its times are not for the report)",
    )
    p.add_argument("--algorithm", "-a", action="append", default=[], help="only this algorithm")
    p.add_argument(
        "--l2-flush",
        choices=("auto", "on", "off"),
        default="auto",
        help="flush the L2 cache before each timed round: memory-bound cells only (auto), "
        "every GPU cell (on) or none (off)",
    )
    p.add_argument("--threads", type=int, default=1, help="CPU threads for every pool")
    p.add_argument(
        "--cell-timeout",
        type=_positive,
        default=60.0,
        metavar="SECONDS",
        help="a cell running longer is killed and recorded as an error (default 60)",
    )
    p.add_argument(
        "--wheels",
        type=Path,
        default=ROOT / "wheels",
        help="wheels for modules the check needs and the machine lacks (pip --no-index)",
    )
    p.add_argument("--tar", type=Path, default=None, help="also pack the folder into this .tar.gz")
    # a phase's own process (internal)
    p.add_argument("--phase", choices=("probe", "fixtures", "timing"), help=argparse.SUPPRESS)
    p.add_argument("--deadline", type=float, default=math.inf, help=argparse.SUPPRESS)
    p.add_argument("--results", default=None, help=argparse.SUPPRESS)
    p.add_argument("--lost", default=None, help=argparse.SUPPRESS)
    p.add_argument("--lost-detail", default=None, help=argparse.SUPPRESS)
    return p


def _check_usage(args: argparse.Namespace) -> None:
    if args.threads < 1:
        raise UsageError("--threads must be at least 1")
    known = {m.name for m in pkgutil.iter_modules([str(ROOT / "suites")])}
    for name in args.algorithm:
        if name.split(".")[0] not in known:
            raise UsageError(f"unknown algorithm {name!r} (known: {', '.join(sorted(known))})")
    if args.out is None:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        args.out = Path(f"gpu-check-{stamp}")
    if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
        raise UsageError(f"--out {args.out} is not an empty folder: name a new one")


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
        args.argv = list(sys.argv[1:] if argv is None else argv)
        if args.phase:
            return _phase(args)
        _check_usage(args)
    except UsageError as exc:
        print(f"gpu_check: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return Check(args).run()


def _phase(args: argparse.Namespace) -> int:
    """A phase's own process: thread pools pinned before NumPy or torch is imported."""
    from harness.threads import pin_environment

    pin_environment(args.threads)
    if args.phase == "probe":
        from shootout.gpu_check import probe

        return probe.main(args)
    if args.phase == "timing":
        from shootout.gpu_check import timing

        return timing.main(args)
    from harness.golden_record import record_fixtures

    deadline = time.monotonic() + (args.deadline - time.time())
    record_fixtures(Path(args.out) / "fixtures", deadline=deadline)
    return 0
