"""Result files as tidy pandas tables, and the derived speedup-versus-library table.

Missing text is "" and missing numbers are NaN, so every column has one dtype whatever
the mix of files. Nothing here re-runs or re-times anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from harness.results import ResultsError, find_results, load_results

TEXT, FLOAT, INT, BOOL = "text", "float", "int", "bool"
_DTYPES = {TEXT: "str", FLOAT: "float64", INT: "Int64", BOOL: "boolean"}

# Columns every row carries about the run it came from.
RUN_CONTEXT = (
    ("run_id", TEXT),
    ("created", TEXT),
    ("commit", TEXT),
    ("machine", TEXT),
    ("machine_label", TEXT),
    ("profile", TEXT),
)

MEASUREMENT_COLUMNS = (
    ("algorithm", TEXT),
    ("backend", TEXT),
    ("variant", TEXT),
    ("impl", TEXT),
    ("kind", TEXT),
    ("case", TEXT),
    ("case_kind", TEXT),
    ("dtype", TEXT),
    ("status", TEXT),
    ("reason", TEXT),
    ("verdict", TEXT),
    ("first_call_s", FLOAT),
    ("median_s", FLOAT),
    ("iqr_s", FLOAT),
    ("mean_s", FLOAT),
    ("min_s", FLOAT),
    ("rounds", INT),
    ("flops", FLOAT),
    ("bytes", FLOAT),
    ("items", FLOAT),
    ("item_unit", TEXT),
    ("gflops", FLOAT),
    ("gbps", FLOAT),
    ("items_per_s", FLOAT),
    ("noisy", BOOL),
    *RUN_CONTEXT,
    ("params", TEXT),
    ("options", TEXT),
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
    *RUN_CONTEXT,
    ("params", TEXT),
    ("options", TEXT),
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
    ("file", TEXT),
)

# One cell on one machine: the same key in two runs means the later run supersedes.
CELL_KEY = ["machine", "algorithm", "backend", "variant", "case", "dtype", "params", "options"]

# Keys an entry cannot be placed in a table without.
_REQUIRED = ("algorithm", "backend", "variant", "case", "status")


@dataclass(frozen=True, eq=False)
class Frames:
    """Every loaded results file as three tidy tables."""

    measurements: pd.DataFrame  # one row per implementation × case × machine × run
    verdicts: pd.DataFrame  # one row per verdict
    runs: pd.DataFrame  # one row per results file


def load_frames(paths: list[Path]) -> Frames:
    """Read results files (folders are expanded); ResultsError for any bad file."""
    runs: list[dict[str, Any]] = []
    measurements: list[dict[str, Any]] = []
    verdicts: list[dict[str, Any]] = []
    for path in find_results(paths):
        document = load_results(path)
        run = _run_row(document, path)
        runs.append(run)
        context = {name: run[name] for name, _ in RUN_CONTEXT}
        for entry in _entries(document, "measurements", path):
            measurements.append({**_cell_fields(entry), **context})
        for entry in _entries(document, "verdicts", path):
            row = {**_cell_fields(entry), **context}
            row["worst_index"] = _worst_index(entry.get("worst_index"))
            row["margin"] = 1.0 - _as_float(entry.get("error_ratio"))
            verdicts.append(row)
    return Frames(
        measurements=_frame(measurements, MEASUREMENT_COLUMNS),
        verdicts=_frame(verdicts, VERDICT_COLUMNS),
        runs=_frame(runs, RUN_COLUMNS),
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
        "file": path.name,
    }


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


def _cell_fields(entry: dict[str, Any]) -> dict[str, Any]:
    row = dict(entry)
    row["impl"] = f"{entry['backend']}/{entry['variant']}"
    # Mappings become canonical JSON text: hashable, comparable and printable.
    for key in ("params", "options"):
        row[key] = json.dumps(entry.get(key) or {}, sort_keys=True, default=str)
    return row


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


def latest(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep each cell's row from the newest run on its machine (runs are append-only)."""
    ordered = frame.sort_values(["created", "run_id"], kind="stable")
    return ordered.drop_duplicates(subset=CELL_KEY, keep="last").sort_index()


def timed(measurements: pd.DataFrame) -> pd.DataFrame:
    """The measurements that produced a usable median time."""
    median = measurements["median_s"]
    return measurements[(measurements["status"] == "ok") & (median > 0) & median.notna()]


SPEEDUP_COLUMNS = [
    "machine",
    "machine_label",
    "run_id",
    "created",
    "algorithm",
    "case",
    "dtype",
    "params",
    "options",
    "items",
    "item_unit",
    "backend",
    "variant",
    "impl",
    "kind",
    "median_s",
    "library_impl",
    "library_median_s",
    "speedup",
]


def speedups(measurements: pd.DataFrame) -> pd.DataFrame:
    """library median / implementation median for every timed non-library implementation.

    The reference is the fastest ``kind == "library"`` implementation of the same case in
    the same run on the same machine (never across runs: their conditions differ); above
    1 means faster than the library, NaN means no library was timed on that case.
    """
    ok = timed(measurements)
    case_key = ["machine", "run_id", "algorithm", "case", "dtype", "params", "options"]
    library = ok[ok["kind"] == "library"].sort_values("median_s", kind="stable")
    fastest = library.drop_duplicates(subset=case_key, keep="first")[
        [*case_key, "impl", "median_s"]
    ].rename(columns={"impl": "library_impl", "median_s": "library_median_s"})
    handwritten = ok[ok["kind"] != "library"]
    merged = handwritten.merge(fastest, on=case_key, how="left")
    merged["speedup"] = merged["library_median_s"] / merged["median_s"]
    merged["library_impl"] = merged["library_impl"].fillna("").astype("str")
    return merged[SPEEDUP_COLUMNS].reset_index(drop=True)
