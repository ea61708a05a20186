"""Result files as tidy pandas tables, and the derived speedup-versus-library table.

Missing text is "" and missing numbers are NaN, so every column has one dtype whatever
the mix of files. Nothing here re-runs or re-times anything.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.backends import device_of
from harness.measurement import Measurement
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
    *RUN_CONTEXT,
    *((name, TEXT) for name in _MAPPINGS),
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
    ceilings: pd.DataFrame  # one row per results file × device measured


def load_frames(paths: list[Path]) -> Frames:
    """Read results files (folders are expanded); ResultsError for any bad file."""
    runs: list[dict[str, Any]] = []
    measurements: list[dict[str, Any]] = []
    verdicts: list[dict[str, Any]] = []
    ceilings: list[dict[str, Any]] = []
    for path in find_results(paths):
        document = load_results(path)
        run = _run_row(document, path)
        runs.append(run)
        context = {name: run[name] for name, _ in RUN_CONTEXT}
        ceilings.extend(_ceiling_rows(document.get("ceilings"), context))
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


def _cell_fields(entry: dict[str, Any]) -> dict[str, Any]:
    row = dict(entry)
    row["impl"] = f"{entry['backend']}/{entry['variant']}"
    if not entry.get("device"):  # files written before the device was recorded
        row["device"] = device_of(entry["backend"])
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
    "noisy",
    "library_impl",
    "library_median_s",
    "library_noisy",
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
        [*case_key, "impl", "median_s", "noisy"]
    ].rename(
        columns={"impl": "library_impl", "median_s": "library_median_s", "noisy": "library_noisy"}
    )
    handwritten = ok[ok["kind"] != "library"]
    merged = handwritten.merge(fastest, on=case_key, how="left")
    merged["speedup"] = merged["library_median_s"] / merged["median_s"]
    merged["library_impl"] = merged["library_impl"].fillna("").astype("str")
    return merged[SPEEDUP_COLUMNS].reset_index(drop=True)


def standard_rows(measurements: pd.DataFrame) -> pd.DataFrame:
    """Each algorithm's rows at its standard size, per run.

    Runs that did not time the suite's standard case (a smoke run, or a file written
    before suites named one) fall back to their largest timed problem size, so the index
    still summarises every algorithm, and the ``standard`` column says which it was.
    """
    frames = []
    for _, group in measurements.groupby(["machine", "run_id", "algorithm"], sort=False):
        marked = group[group["standard"].fillna(False).astype(bool)]
        if marked.empty:
            sized = timed(group)
            sized = sized[sized["items"].notna()]
            if sized.empty:
                continue
            marked = group[group["case"] == sized.loc[sized["items"].idxmax(), "case"]]
        frames.append(marked)
    if not frames:
        return measurements.iloc[0:0]
    return pd.concat(frames).sort_index()


def with_library_error(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Each verdict beside the library reference's own error on the same case of the same
    run: the smallest max_abs (and its error_ratio) among library cells that compared an
    output. A tolerance is visibly justified when the library itself needs it."""
    out = verdicts.assign(library_max_abs=np.nan, library_error_ratio=np.nan)
    compared = verdicts[
        (verdicts["kind"] == "library")
        & verdicts["status"].isin(["pass", "fail", "xfail"])
        & (verdicts["total"].fillna(0) > 0)
    ]
    if compared.empty:
        return out
    keys = ["run_id", "algorithm", "case"]
    best = compared.sort_values("max_abs").drop_duplicates(keys)[[*keys, "max_abs", "error_ratio"]]
    best = best.rename(columns={"max_abs": "_lib_abs", "error_ratio": "_lib_ratio"})
    merged = out.merge(best, on=keys, how="left")
    merged["library_max_abs"] = merged.pop("_lib_abs")
    merged["library_error_ratio"] = merged.pop("_lib_ratio")
    merged.index = out.index
    return merged


def correct_impls(verdicts: pd.DataFrame) -> set[tuple[str, str, str]]:
    """(machine, algorithm, impl) whose every verdict is pass or an expected failure."""
    bad = verdicts[verdicts["status"].isin(["fail", "error"])]
    broken = set(zip(bad["machine"], bad["algorithm"], bad["impl"], strict=True))
    good = verdicts[verdicts["status"].isin(["pass", "xfail"])]
    return set(zip(good["machine"], good["algorithm"], good["impl"], strict=True)) - broken


def only_correct(rows: pd.DataFrame, verdicts: pd.DataFrame) -> pd.DataFrame:
    """The rows of implementations that ``correct_impls`` accepts."""
    good = correct_impls(verdicts)
    keys = zip(rows["machine"], rows["algorithm"], rows["impl"], strict=True)
    return rows[pd.Series([k in good for k in keys], index=rows.index, dtype=bool)]


HEADLINE_COLUMNS = [
    "machine",
    "machine_label",
    "algorithm",
    "case",
    "items",
    "item_unit",
    "impl",
    "kind",
    "median_s",
    "library_impl",
    "library_median_s",
    "speedup",
    "handwritten_impl",
    "handwritten_median_s",
    "handwritten_speedup",
]


def headline(measurements: pd.DataFrame, verdicts: pd.DataFrame) -> pd.DataFrame:
    """Per machine and algorithm, the fastest correct implementation at the standard size.

    Inputs are the latest rows; correct means no fail or error on any case of that
    implementation on that machine, so a fast wrong answer never heads the table.
    """
    rows = only_correct(timed(standard_rows(measurements)), verdicts)
    if rows.empty:
        return pd.DataFrame(columns=HEADLINE_COLUMNS)
    best = rows.sort_values("median_s", kind="stable").drop_duplicates(
        ["machine", "algorithm"], keep="first"
    )
    library = rows[rows["kind"] == "library"].sort_values("median_s", kind="stable")
    library = library.drop_duplicates(["machine", "algorithm"], keep="first")[
        ["machine", "algorithm", "impl", "median_s"]
    ].rename(columns={"impl": "library_impl", "median_s": "library_median_s"})
    handwritten = rows[rows["kind"] != "library"].sort_values("median_s", kind="stable")
    handwritten = handwritten.drop_duplicates(["machine", "algorithm"], keep="first")[
        ["machine", "algorithm", "impl", "median_s"]
    ].rename(columns={"impl": "handwritten_impl", "median_s": "handwritten_median_s"})
    out = best.merge(library, on=["machine", "algorithm"], how="left")
    out = out.merge(handwritten, on=["machine", "algorithm"], how="left")
    out["speedup"] = out["library_median_s"] / out["median_s"]
    out["handwritten_speedup"] = out["library_median_s"] / out["handwritten_median_s"]
    for column in ("library_impl", "handwritten_impl"):
        out[column] = out[column].fillna("").astype("str")
    return out[HEADLINE_COLUMNS].sort_values(["machine_label", "algorithm"]).reset_index(drop=True)


ROOFLINE_COLUMNS = ["peak_gflops", "peak_gbps", "intensity", "roof_gflops", "roof_fraction"]


def with_roofline(measurements: pd.DataFrame, ceilings: pd.DataFrame) -> pd.DataFrame:
    """Add the run's ceilings for each row's device and dtype, and the fraction of the roof.

    intensity = flops / bytes; the roof at that intensity is min(matmul peak,
    intensity × memory bandwidth), and ``roof_fraction`` = achieved GFLOP/s / roof. The
    matmul peak of the row's dtype is used (float32 for anything that is not float64 or
    float16); NaN wherever the run measured no ceilings.
    """
    out = measurements.copy()
    peaks = {
        (r.run_id, r.device): r
        for r in ceilings.itertuples(index=False)  # one row per run × device
    }
    peak_flops, peak_bw = [], []
    for run_id, device, dtype in zip(out["run_id"], out["device"], out["dtype"], strict=True):
        record = peaks.get((run_id, device))
        column = f"matmul_{dtype}" if dtype in ("float16", "float64") else "matmul_float32"
        peak_flops.append(getattr(record, column) if record is not None else float("nan"))
        peak_bw.append(record.memory_gbps if record is not None else float("nan"))
    out["peak_gflops"] = pd.Series(peak_flops, index=out.index, dtype="float64")
    out["peak_gbps"] = pd.Series(peak_bw, index=out.index, dtype="float64")
    bytes_ = out["bytes"].where(out["bytes"] > 0)
    out["intensity"] = out["flops"] / bytes_
    roof = (out["intensity"] * out["peak_gbps"]).where(
        lambda r: r < out["peak_gflops"], out["peak_gflops"]
    )
    out["roof_gflops"] = roof
    out["roof_fraction"] = out["gflops"] / roof
    return out


_JOIN = [
    "run_id",
    "machine",
    "algorithm",
    "backend",
    "variant",
    "case",
    "dtype",
    "params",
    "options",
]
# The timing columns a cell gains in the export: the measurement's columns that do not
# identify the cell, its outcome first and renamed where it clashes with a verdict's.
_IDENTITY = {*_JOIN, "impl", "kind", "case_kind", "verdict", *(name for name, _ in RUN_CONTEXT)}
_RENAMED = {"status": "timing_status", "reason": "timing_reason"}
_TIMING = {
    **_RENAMED,
    **{c: c for c, _ in MEASUREMENT_COLUMNS if c not in _IDENTITY and c not in _RENAMED},
    **{c: c for c in ROOFLINE_COLUMNS},
}


def cells(frames: Frames) -> pd.DataFrame:
    """The table behind every page: one row per implementation × case × machine × run.

    A verdict and the measurement of the same cell in the same run share a row; a verify
    run leaves the timing columns empty, and a measurement with no verdict keeps its own.
    """
    timing = with_roofline(frames.measurements, frames.ceilings)
    timing = timing[[*_JOIN, *_TIMING]].rename(columns=_TIMING)
    verdicts = frames.verdicts
    merged = verdicts.merge(timing, on=_JOIN, how="outer", indicator=True)
    only_timed = merged["_merge"] == "right_only"
    merged = merged.drop(columns="_merge")
    # Rows from a measurement alone take their identity from the measurement table.
    if only_timed.any():
        source = frames.measurements.set_index(_JOIN)
        for column in ("impl", "kind", "case_kind", *(c for c, _ in RUN_CONTEXT)):
            if column in _JOIN:
                continue
            keys = merged.loc[only_timed, _JOIN].itertuples(index=False, name=None)
            merged.loc[only_timed, column] = [source.loc[k, column] for k in keys]
    merged = merged.rename(columns={"status": "verdict"})
    first = ["machine_label", "created", "commit", "algorithm", "impl", "case", "dtype", "verdict"]
    rest = [c for c in merged.columns if c not in first]
    return (
        merged[first + rest]
        .sort_values(["machine_label", "created", "algorithm", "impl", "case"], kind="stable")
        .reset_index(drop=True)
    )
