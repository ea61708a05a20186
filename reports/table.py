"""Tables derived from the frames: latest runs, speedups against the library, the headline,
the roofline, the library's own error, and the one-row-per-cell export."""

from __future__ import annotations

import numpy as np
import pandas as pd

from reports.frames import CELL_KEY, MEASUREMENT_COLUMNS, RUN_CONTEXT, Frames, load_frames

__all__ = ["CELL_KEY", "Frames", "load_frames"]


def latest(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep each cell's row from the newest run on its machine (runs are append-only)."""
    ordered = frame.sort_values(["created", "run_id"], kind="stable")
    return ordered.drop_duplicates(subset=CELL_KEY, keep="last").sort_index()


def timed(measurements: pd.DataFrame) -> pd.DataFrame:
    """The measurements that produced a usable median time."""
    median = measurements["median_s"]
    return measurements[(measurements["status"] == "ok") & (median > 0) & median.notna()]


def trusted(measurements: pd.DataFrame) -> pd.DataFrame:
    """The timed measurements whose timing is trusted: rankings and speedups use only these.

    A flagged timing (faster than the machine allows, a cached result, threads changed or
    left running: harness.hygiene) is still shown, with its reason, but never ranked."""
    ok = timed(measurements)
    if "flagged" not in ok.columns:
        return ok
    return ok[ok["flagged"].fillna("").astype(str) == ""]


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
    ok = trusted(measurements)
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
    implementation on that machine, so a fast wrong answer never heads the table; nor
    does a flagged timing (``trusted``).
    """
    rows = only_correct(trusted(standard_rows(measurements)), verdicts)
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
    "origin",
    "source",
]
# The timing columns a cell gains in the export: the measurement's columns that do not
# identify the cell, its outcome first and renamed where it clashes with a verdict's.
_IDENTITY = {*_JOIN, "impl", "kind", "case_kind", "verdict", *(name for name, _ in RUN_CONTEXT)}
# what the cell left behind: the same in its verdict and its measurement (harness.hygiene)
_IDENTITY |= {"warning", "peak_rss_mb", "device_peak_mb"}
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
