"""An algorithm's page: per machine a timing chart and speedups, then every verdict."""

from __future__ import annotations

import pandas as pd

from reports.chart import timing_chart
from reports.index_page import backend_order
from reports.markup import (
    SEVERITY,
    Html,
    esc,
    fmt_number,
    fmt_ratio,
    fmt_seconds,
    join,
    link,
    page,
    status_class,
    table,
    tag,
)
from reports.table import Frames, latest

_CASE_KEY = ["case", "dtype", "params", "options"]


def render_algorithm(frames: Frames, speedup_rows: pd.DataFrame, algorithm: str) -> str:
    """The page of one algorithm; ``speedup_rows`` is ``speedups`` of all measurements."""
    verdicts = latest(frames.verdicts[frames.verdicts["algorithm"] == algorithm])
    measurements = latest(frames.measurements[frames.measurements["algorithm"] == algorithm])
    ratios = latest(speedup_rows[speedup_rows["algorithm"] == algorithm])
    parts = [tag("p", link("index.html", esc("← all algorithms"))), tag("h1", esc(algorithm))]
    machines = measurements.drop_duplicates("machine").sort_values("machine_label")
    for number, (machine, label) in enumerate(
        zip(machines["machine"], machines["machine_label"], strict=True)
    ):
        parts.append(tag("h2", esc(f"Timings on {label} ({machine})")))
        mine = measurements[measurements["machine"] == machine]
        chart = timing_chart(mine, div_id=f"timing-{number}")
        parts.append(chart if chart is not None else tag("p", esc("Nothing was timed here.")))
        parts.append(tag("h3", esc("Speedup versus the fastest library implementation")))
        parts.append(_speedup_table(ratios[ratios["machine"] == machine]))
        parts.append(_untimed_table(mine))
    parts.append(tag("h2", esc("Verdicts")))
    parts.append(_verdict_table(verdicts, several_machines=verdicts["machine"].nunique() > 1))
    return page(f"{algorithm} · opshootout", join(parts), charts=True)


def _impl_order(frame: pd.DataFrame) -> list[str]:
    pairs = frame.drop_duplicates("impl")[["backend", "variant", "impl"]]
    rank = {b: i for i, b in enumerate(backend_order(pairs["backend"]))}
    ordered = sorted(pairs.itertuples(index=False), key=lambda p: (rank[p[0]], p[1]))
    return [str(p[2]) for p in ordered]


def _speedup_table(ratios: pd.DataFrame) -> Html:
    """Rows are cases by size, columns the handwritten implementations; above 1 is faster."""
    if ratios.empty:
        return tag("p", esc("No handwritten implementation was timed."))
    note = Html("")
    if (ratios["library_impl"] == "").all():
        note = tag(
            "p",
            esc("No library implementation was timed, so there is nothing to compare against."),
            class_="small",
        )
    impls = _impl_order(ratios)
    cases = ratios.drop_duplicates(_CASE_KEY).sort_values(["items", "case"], kind="stable")
    rows = []
    for _, case in cases.iterrows():
        same = ratios[(ratios[_CASE_KEY] == case[_CASE_KEY]).all(axis=1)]
        reference = same.iloc[0]
        row: list[Html | tuple[Html, str]] = [
            esc(case["case"]),
            (esc(fmt_number(case["items"])), "num"),
            esc(
                f"{reference['library_impl'] or '–'} ({fmt_seconds(reference['library_median_s'])})"
            ),
        ]
        for impl in impls:
            cell = same[same["impl"] == impl]
            if cell.empty:
                row.append(esc("–"))
                continue
            ratio = cell.iloc[0]["speedup"]
            cls = "" if pd.isna(ratio) else "faster" if ratio >= 1 else "slower"
            row.append(
                (
                    tag(
                        "span",
                        esc(fmt_ratio(ratio)),
                        title=f"median {fmt_seconds(cell.iloc[0]['median_s'])}",
                    ),
                    f"num {cls}".strip(),
                )
            )
        rows.append(row)
    return join([note, table(["case", "items", "library (median)", *impls], rows)])


def _untimed_table(measurements: pd.DataFrame) -> Html:
    """Measurements that produced no time, with why: skipped, failed or errored."""
    rows = measurements[measurements["status"] != "ok"].sort_values(["case", "impl"])
    if rows.empty:
        return Html("")
    body: list[list[Html | tuple[Html, str]]] = [
        [
            esc(r["case"]),
            esc(r["impl"]),
            (esc(r["status"]), _measurement_class(r["status"])),
            esc(r["reason"]),
        ]
        for _, r in rows.iterrows()
    ]
    return join([tag("h3", esc("Not timed")), table(["case", "impl", "status", "reason"], body)])


def _measurement_class(status: str) -> str:
    return status_class({"ok": "pass"}.get(status, status))


def _verdict_table(verdicts: pd.DataFrame, *, several_machines: bool) -> Html:
    """Every verdict, worst first, with the measured error and the margin left."""
    if verdicts.empty:
        return tag("p", esc("No verdicts recorded."))
    rank = {s: i for i, s in enumerate(SEVERITY)}
    ordered = verdicts.assign(_rank=verdicts["status"].map(lambda s: rank.get(s, len(rank))))
    ordered = ordered.sort_values(["_rank", "case", "impl", "machine_label"], kind="stable")
    headers = [
        "case",
        "impl",
        "status",
        "max_abs",
        "max_rel",
        "error_ratio",
        "margin",
        "tolerance",
        "detail",
        "repro",
    ]
    rows = []
    for _, v in ordered.iterrows():
        row: list[Html | tuple[Html, str]] = [
            join([esc(v["case"]), tag("span", esc(f" {v['case_kind']}"), class_="small")]),
            esc(v["impl"]),
            (esc(v["status"]), status_class(v["status"])),
            *_error_cells(v),
            join([esc(v["detail"]), _small(v["note"])]),
            tag("code", esc(v["repro"])) if v["status"] in ("fail", "error") else Html(""),
        ]
        if several_machines:
            row.insert(0, esc(v["machine_label"]))
        rows.append(row)
    return table(["machine", *headers] if several_machines else headers, rows)


def _error_cells(verdict: pd.Series) -> list[Html | tuple[Html, str]]:
    """max_abs, max_rel, error_ratio, margin and tolerance; blank where nothing was compared
    (a skip, or a verdict on a raised error), so a default zero never reads as a result."""
    compared = verdict["status"] != "skip" and (verdict["total"] or 0) > 0
    if not compared:
        return [Html("")] * 5
    numbers: list[Html | tuple[Html, str]] = [
        (esc(fmt_number(verdict[key])), "num")
        for key in ("max_abs", "max_rel", "error_ratio", "margin")
    ]
    rtol, atol = verdict["rtol"], verdict["atol"]
    exact = rtol == 0 and atol == 0
    text = esc("exact" if exact else f"rtol {fmt_number(rtol)}, atol {fmt_number(atol)}")
    return [*numbers, join([text, _small(verdict["tolerance_reason"])])]


def _small(text: str) -> Html:
    """A secondary line under a cell's main content; nothing when the text is empty."""
    return tag("div", esc(text), class_="small") if text else Html("")
