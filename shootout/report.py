"""The ``report`` command: results files into the HTML site and the exported table."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from shootout.output import json_document
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
    tables: list[dict[str, Any]] = []
    if args.csv is not None or args.parquet is not None:
        table = cells(frames)
        if args.csv is not None:
            write_atomic(args.csv, table.to_csv(index=False))
            tables.append({"format": "csv", "path": args.csv, "rows": len(table)})
        if args.parquet is not None:
            tmp = args.parquet.with_name(f".{args.parquet.name}.tmp")
            args.parquet.parent.mkdir(parents=True, exist_ok=True)
            table.to_parquet(tmp, index=False)
            os.replace(tmp, args.parquet)
            tables.append({"format": "parquet", "path": args.parquet, "rows": len(table)})
    if args.no_site:
        return _said(args, paths, tables, None)
    try:
        index = publish_frames(frames, args.out)
    except FileExistsError as exc:
        raise UsageError(str(exc)) from None
    return _said(args, paths, tables, index)


def _said(
    args: argparse.Namespace, paths: list[Path], tables: list[dict[str, Any]], site: Path | None
) -> int:
    """What was written: a line per file, or one JSON document (--json)."""
    if args.json:
        print(json_document("report", results=paths, tables=tables, site=site))
        return EXIT_OK
    for t in tables:
        print(f"table: {t['path']} ({t['rows']} rows)")
    if site is not None:
        print(f"report: {site}")
    return EXIT_OK
