"""Result files read into tidy pandas frames: one row per run, verdict, measurement, ceiling.

Missing text is "" and missing numbers are NaN, so every column has one dtype whatever
the mix of files. Nothing here re-runs or re-times anything.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from harness.backends import device_of
from harness.measurement import Measurement
from harness.results import ResultsError, find_results
from harness.results import load_results as read_results_file
from reports.stats import median_ci

TEXT, FLOAT, INT, BOOL = "text", "float", "int", "bool"
_DTYPES = {TEXT: "str", FLOAT: "float64", INT: "Int64", BOOL: "boolean"}

# Columns a cell's row carries about its implementation's code in that run: where it came
# from (project, plugin:..., entry-point:...) and the sha256 of its file, 12 hex digits.
SOURCE_COLUMNS = (("origin", TEXT), ("source", TEXT))

# Columns every row carries about the run it came from.
RUN_CONTEXT = (
    ("run_id", TEXT),
    ("created", TEXT),
    ("commit", TEXT),
    ("machine", TEXT),
    ("machine_label", TEXT),
    ("profile", TEXT),
)


def _record_columns(record: type) -> tuple[list[tuple[str, str]], list[str]]:
    """A record's fields as (name, kind) columns, less the raw samples, and apart the
    names of its mappings (params, options: canonical JSON text in the table)."""
    hints = typing.get_type_hints(record)
    columns, mappings = [], []
    for f in dataclasses.fields(record):
        hint = hints[f.name]
        if f.name in ("samples", "iterations", "stddev_s"):
            continue
        if typing.get_origin(hint) is Mapping:
            mappings.append(f.name)
            continue
        (base,) = [t for t in typing.get_args(hint) if t is not type(None)] or [hint]
        columns.append((f.name, {str: TEXT, float: FLOAT, int: INT, bool: BOOL}[base]))
    return columns, mappings


_MEASURED, _MAPPINGS = _record_columns(Measurement)
_VARIANT = [name for name, _ in _MEASURED].index("variant") + 1
# A measurement's own fields in their order, with "backend/variant" as impl beside them;
# the run context, then the mappings, at the end.
MEASUREMENT_COLUMNS = (
    *_MEASURED[:_VARIANT],
    ("impl", TEXT),
    *_MEASURED[_VARIANT:],
    # the median's distribution-free 95 % interval, from the stored samples
    ("ci_low_s", FLOAT),
    ("ci_high_s", FLOAT),
    *RUN_CONTEXT,
    *((name, TEXT) for name in _MAPPINGS),
    *SOURCE_COLUMNS,
)

VERDICT_COLUMNS = (
    ("algorithm", TEXT),
    ("backend", TEXT),
    ("variant", TEXT),
    ("impl", TEXT),
    ("kind", TEXT),
    ("case", TEXT),
    ("case_kind", TEXT),
    ("dtype", TEXT),
    ("status", TEXT),
    ("detail", TEXT),
    ("mismatches", INT),
    ("total", INT),
    ("max_abs", FLOAT),
    ("max_rel", FLOAT),
    ("worst_index", TEXT),
    ("error_ratio", FLOAT),
    ("margin", FLOAT),
    ("rtol", FLOAT),
    ("atol", FLOAT),
    ("tolerance_reason", TEXT),
    ("note", TEXT),
    ("repro", TEXT),
    ("warning", TEXT),
    ("peak_rss_mb", FLOAT),
    ("device_peak_mb", FLOAT),
    *RUN_CONTEXT,
    ("params", TEXT),
    ("options", TEXT),
    *SOURCE_COLUMNS,
)

RUN_COLUMNS = (
    *RUN_CONTEXT,
    ("dirty", BOOL),
    ("complete", BOOL),
    ("command", TEXT),
    ("hostname", TEXT),
    ("cores", INT),
    ("memory_gb", FLOAT),
    ("gpu", TEXT),
    ("threads", TEXT),
    ("file", TEXT),
)

# One row per run × device: the limits the harness measured before timing (may be absent).
CEILING_COLUMNS = (
    ("machine", TEXT),
    ("machine_label", TEXT),
    ("run_id", TEXT),
    ("created", TEXT),
    ("device", TEXT),
    ("memory_gbps", FLOAT),
    ("memory_method", TEXT),
    ("matmul_float16", FLOAT),
    ("matmul_float32", FLOAT),
    ("matmul_float64", FLOAT),
    ("matmul_method", TEXT),
    ("threads", TEXT),
    ("note", TEXT),
)

# One cell on one machine: the same key in two runs means the later run supersedes. ``impl``
# tells two versions of a plugin apart (see ``_versions``), so neither supersedes the other.
CELL_KEY = [
    "machine",
    "algorithm",
    "backend",
    "variant",
    "impl",
    "case",
    "dtype",
    "params",
    "options",
]

# Keys an entry cannot be placed in a table without.
_REQUIRED = ("algorithm", "backend", "variant", "case", "status")


@dataclass(frozen=True, eq=False)
class Frames:
    """Every loaded results file as three tidy tables."""

    measurements: pd.DataFrame  # one row per implementation × case × machine × run
    verdicts: pd.DataFrame  # one row per verdict
    runs: pd.DataFrame  # one row per results file
    ceilings: pd.DataFrame  # one row per results file × device measured


def load_results(paths: str | Path | Iterable[str | Path]) -> Frames:
    """Results files as pandas tables: the public way to analyse runs in a notebook.

    ``paths`` is a results file, a folder of them, or several of either. Returns a
    ``Frames`` with ``measurements`` (one row per implementation × case × run: timings,
    rates, the cost model), ``verdicts`` (one row per verdict: status, errors, tolerance,
    repro), ``runs`` (one row per file: machine, commit, threads, completeness) and
    ``ceilings`` (the machine limits each run measured). Every file is checked against
    the results schema first; a bad one raises ResultsError naming it and the problem.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    return load_frames([Path(p) for p in paths])


def load_frames(paths: list[Path]) -> Frames:
    """Read results files (folders are expanded); ResultsError for any bad file."""
    runs: list[dict[str, Any]] = []
    measurements: list[dict[str, Any]] = []
    verdicts: list[dict[str, Any]] = []
    ceilings: list[dict[str, Any]] = []
    for path in find_results(paths):
        document = read_results_file(path)
        run = _run_row(document, path)
        runs.append(run)
        context = {name: run[name] for name, _ in RUN_CONTEXT}
        sources = document.get("implementations") or {}
        ceilings.extend(_ceiling_rows(document.get("ceilings"), context))
        for entry in _entries(document, "measurements", path):
            measurements.append({**_cell_fields(entry, sources), **_interval(entry), **context})
        for entry in _entries(document, "verdicts", path):
            row = {**_cell_fields(entry, sources), **context}
            row["worst_index"] = _worst_index(entry.get("worst_index"))
            row["margin"] = 1.0 - _as_float(entry.get("error_ratio"))
            verdicts.append(row)
    _versions([*measurements, *verdicts])
    return Frames(
        measurements=_frame(measurements, MEASUREMENT_COLUMNS),
        verdicts=_frame(verdicts, VERDICT_COLUMNS),
        runs=_frame(runs, RUN_COLUMNS),
        ceilings=_frame(ceilings, CEILING_COLUMNS),
    )


def _run_row(document: dict[str, Any], path: Path) -> dict[str, Any]:
    machine = document["machine"]
    if not isinstance(machine, dict):
        raise ResultsError(f"results file {str(path)!r} has a 'machine' that is not an object")
    git = document.get("git")
    git = git if isinstance(git, dict) else {}
    cpu, gpu = machine.get("cpu") or "unknown CPU", machine.get("gpu")
    return {
        "run_id": document.get("run_id") or path.stem,
        "created": document.get("created") or "",
        "commit": git.get("commit") or "",
        "machine": machine.get("fingerprint") or "unknown",
        "machine_label": f"{cpu} + {gpu}" if gpu else cpu,
        "profile": document.get("profile") or "",
        "dirty": git.get("dirty"),
        "complete": document.get("complete"),
        "command": document.get("command") or "",
        "hostname": machine.get("hostname") or "",
        "cores": machine.get("cores"),
        "memory_gb": machine.get("memory_gb"),
        "gpu": gpu or "",
        "threads": _threads_text(document.get("threads")),
        "file": path.name,
    }


def _threads_text(threads: Any) -> str:
    """What the run pinned every pool to, in one line ("" when not recorded)."""
    if not isinstance(threads, dict) or not threads:
        return ""
    parts = [f"{threads['requested']} requested"] if "requested" in threads else []
    parts += [f"{k} {threads[k]}" for k in ("torch", "numba") if k in threads]
    return ", ".join(parts)


def _ceiling_rows(ceilings: Any, context: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of the ceilings table; entries that are not records are ignored (not measured)."""
    if not isinstance(ceilings, dict):
        return []
    rows = []
    for device, record in sorted(ceilings.items()):
        if not isinstance(record, dict) or record.get("unavailable"):
            continue  # not measured (no such device here): nothing to draw a roof from
        matmul = record.get("matmul_gflops")
        matmul = matmul if isinstance(matmul, dict) else {}
        method = record.get("matmul_method")
        if isinstance(method, dict):
            method = "; ".join(f"{k}: {v}" for k, v in sorted(method.items()))
        row = {
            **context,
            "device": str(device),
            "memory_gbps": _as_float(record.get("memory_gbps")),
            "memory_method": record.get("memory_method"),
            "matmul_method": method,
            "threads": record.get("threads"),
            "note": record.get("note") or record.get("reason"),
        }
        for dtype in ("float16", "float32", "float64"):
            row[f"matmul_{dtype}"] = _as_float(matmul.get(dtype))
        rows.append(row)
    return rows


def _entries(document: dict[str, Any], key: str, path: Path) -> list[dict[str, Any]]:
    entries = document[key]
    if not isinstance(entries, list):
        raise ResultsError(f"results file {str(path)!r}: {key!r} is not a list")
    for number, entry in enumerate(entries):
        missing = [k for k in _REQUIRED if not isinstance(entry, dict) or k not in entry]
        if missing:
            raise ResultsError(
                f"results file {str(path)!r}: {key} entry #{number} lacks "
                f"{', '.join(map(repr, missing))}"
            )
    return entries


def _interval(entry: dict[str, Any]) -> dict[str, float]:
    samples = entry.get("samples")
    ok = isinstance(samples, list) and all(isinstance(v, int | float) for v in samples)
    low, high = median_ci(samples if ok else [])
    return {"ci_low_s": low, "ci_high_s": high}


def _cell_fields(entry: dict[str, Any], sources: Mapping[str, Any]) -> dict[str, Any]:
    row = dict(entry)
    row["impl"] = f"{entry['backend']}/{entry['variant']}"
    record = sources.get(f"{entry['algorithm']}/{row['impl']}") or {}
    row["origin"] = record.get("origin") or ""
    row["source"] = (record.get("sha256") or "")[:12]
    if not entry.get("device"):  # files written before the device was recorded
        row["device"] = device_of(entry["backend"])
    # Mappings become canonical JSON text: hashable, comparable and printable.
    for key in ("params", "options"):
        row[key] = json.dumps(entry.get(key) or {}, sort_keys=True, default=str)
    return row


def _versions(rows: list[dict[str, Any]]) -> None:
    """Name each version of a plugin apart: when the same algorithm/backend/variant from
    outside the project ran with different source files, its impl becomes
    ``backend/variant@<sha256 prefix>`` in every row, so tables, charts and the latest-run
    rule keep the versions apart instead of merging or superseding them. (The project's
    own implementations change with its commits, which the runs already record.)"""
    seen: dict[tuple[str, str, str], set[str]] = {}
    for row in rows:
        if row["source"] and row["origin"] not in ("", "project"):
            key = (row["algorithm"], row["backend"], row["variant"])
            seen.setdefault(key, set()).add(row["source"])
    for row in rows:
        if len(seen.get((row["algorithm"], row["backend"], row["variant"]), ())) > 1:
            row["impl"] = f"{row['impl']}@{row['source'][:8]}"


def _worst_index(value: Any) -> str:
    if value is None:
        return ""
    return "(" + ", ".join(str(i) for i in value) + ")" if isinstance(value, list) else str(value)


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)  # None or NaN


def _frame(rows: list[dict[str, Any]], columns: tuple[tuple[str, str], ...]) -> pd.DataFrame:
    names = [name for name, _ in columns]
    frame = pd.DataFrame([{name: row.get(name) for name in names} for row in rows], columns=names)
    for name, kind in columns:
        column = frame[name]
        if kind == TEXT:
            column = column.map(lambda v: "" if _blank(v) else str(v))
        elif kind in (FLOAT, INT):
            column = pd.to_numeric(column, errors="coerce")
        else:
            column = column.map(lambda v: pd.NA if _blank(v) else bool(v))
        frame[name] = column.astype(_DTYPES[kind])
    return frame


# ---- derived tables -----------------------------------------------------------------------
