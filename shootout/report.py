"""The ``report`` command: results files into the HTML site and the exported table.

Everything is checked and rendered in memory first (the inputs, the export targets, the
site folder); only then is anything written, so a refusal leaves every file as it was.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any

from shootout.output import json_document
from shootout.usage import EXIT_OK, UsageError


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def _check_target(option: str, target: Path, inputs: list[Path], out: Path | None) -> None:
    """An export target must not be an input, a folder, or inside the site being replaced."""
    for source in inputs:
        if _same_file(target, source):
            raise UsageError(
                f"{option} {target} is one of the results files being read; "
                "refusing to overwrite it (choose another file)"
            )
    if target.is_dir():
        raise UsageError(f"{option} {target} is a folder; give a file name")
    if out is not None and target.resolve().is_relative_to(out.resolve()):
        raise UsageError(
            f"{option} {target} is inside the site folder {out}, which is replaced as a "
            "whole; write it elsewhere"
        )


def cmd_report(args: argparse.Namespace) -> int:
    from harness.results import find_results, write_atomic
    from reports.site import INDEX_FILE, check_replaceable, publish, render_site
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
    site = None if args.no_site else Path(args.out)
    exports = [(o, t) for o, t in (("--csv", args.csv), ("--parquet", args.parquet)) if t]
    for option, target in exports:
        _check_target(option, target, paths, site)
    if args.csv is not None and args.parquet is not None and _same_file(args.csv, args.parquet):
        raise UsageError("--csv and --parquet name the same file")
    if site is not None:
        try:
            check_replaceable(site)
        except FileExistsError as exc:
            raise UsageError(str(exc)) from None
    frames = load_frames(paths)  # every file is checked before anything is written
    outputs: list[tuple[Path, bytes, int, str]] = []
    if exports:
        table = cells(frames)
        if args.csv is not None:
            outputs.append((args.csv, table.to_csv(index=False).encode(), len(table), "csv"))
        if args.parquet is not None:
            buffer = io.BytesIO()
            table.to_parquet(buffer, index=False)
            outputs.append((args.parquet, buffer.getvalue(), len(table), "parquet"))
    files = render_site(frames) if site is not None else None
    # Nothing was written up to here: now the writes, each atomic.
    tables: list[dict[str, Any]] = []
    for target, content, rows, kind in outputs:
        write_atomic(target, content)
        tables.append({"format": kind, "path": target, "rows": rows})
    index = None
    if site is not None and files is not None:
        try:
            publish(files, site)
        except FileExistsError as exc:  # made unreplaceable since the check: nothing swapped
            raise UsageError(str(exc)) from None
        index = site / INDEX_FILE
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
