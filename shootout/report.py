"""The ``report`` command: results files into the HTML site and the exported table."""

from __future__ import annotations

import argparse
import os

from shootout.usage import EXIT_OK, UsageError


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
