"""An algorithm's page: per machine a timing chart and speedups, then every verdict."""

from __future__ import annotations

from typing import Any

import pandas as pd

from reports.chart import (
    first_call_chart,
    roofline_chart,
    speedup_chart,
    timing_chart,
)
from reports.colours import Palette
from reports.index_page import backend_order
from reports.markup import (
    SEVERITY,
    Html,
    anchor,
    esc,
    flag,
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
from reports.stats import LEVEL, scaling_exponents
from reports.table import (
    Frames,
    latest,
    standard_rows,
    timed,
    trusted,
    with_library_error,
    with_roofline,
)

_CASE_KEY = ["case", "dtype", "params", "options"]


def render_algorithm(
    frames: Frames,
    speedup_rows: pd.DataFrame,
    algorithm: str,
    *,
    history: str | None = None,
    colours: Palette | None = None,
) -> str:
    """The page of one algorithm; ``speedup_rows`` is ``speedups`` of all measurements.

    ``history`` is the history page's file name when there is one to link to.
    """
    verdicts = latest(frames.verdicts[frames.verdicts["algorithm"] == algorithm])
    measurements = latest(frames.measurements[frames.measurements["algorithm"] == algorithm])
    measurements = with_roofline(measurements, frames.ceilings)
    ratios = latest(speedup_rows[speedup_rows["algorithm"] == algorithm])
    nav = [link("index.html", esc("← all algorithms"))]
    if history:
        nav.append(link(f"{history}#{anchor('history', algorithm)}", esc("history across runs")))
    parts = [tag("p", join(nav, " · ")), tag("h1", esc(algorithm))]
    parts.append(_verdict_counts(verdicts))
    machines = measurements.drop_duplicates("machine").sort_values("machine_label")
    for number, (machine, label) in enumerate(
        zip(machines["machine"], machines["machine_label"], strict=True)
    ):
        mine = measurements[measurements["machine"] == machine]
        parts.append(
            _machine_section(
                frames, mine, ratios, number, str(machine), str(label), colours or Palette()
            )
        )
    parts.append(tag("h2", esc("Correctness"), id="verdicts"))
    parts.append(
        tag(
            "p",
            esc(
                "Measured error against the float64 oracle per case; error_ratio is the "
                "worst error over the tolerance (1 = at the limit) and margin = 1 − error_ratio; "
                "beside them, the library reference's own error on the same case (its "
                "error_ratio in brackets), so a tolerance shows what the library itself needs. "
                "Failing cells come first, with the diagnosis and the command that reproduces them."
            ),
            class_="small",
        )
    )
    parts.append(_verdict_table(verdicts, several_machines=verdicts["machine"].nunique() > 1))
    return page(f"{algorithm} · opshootout", join(parts), charts=True)


def _verdict_counts(verdicts: pd.DataFrame) -> Html:
    counts = verdicts["status"].value_counts()
    tally = " · ".join(f"{int(counts[s])} {s}" for s in SEVERITY if s in counts)
    return tag("p", join([tag("b", esc("Verdicts: ")), esc(tally or "none")]), class_="meta")


def _machine_section(
    frames: Frames,
    mine: pd.DataFrame,
    ratios: pd.DataFrame,
    number: int,
    machine: str,
    label: str,
    colours: Palette,
) -> Html:
    """Everything timed on one machine: no figure here mixes machines."""
    where = f"{label} ({machine})"
    runs = frames.runs[frames.runs["run_id"].isin(set(mine["run_id"]))]
    ceilings = frames.ceilings[frames.ceilings["run_id"].isin(set(mine["run_id"]))]
    parts = [
        tag("h2", esc(f"On {where}"), id=anchor("machine", machine)),
        _run_meta(runs, ceilings),
    ]
    chart = timing_chart(mine, div_id=f"timing-{number}", machine=where, colours=colours)
    parts.append(chart if chart is not None else tag("p", esc("Nothing was timed here.")))

    parts.append(tag("h3", esc("Speedup versus the fastest library implementation")))
    mine_ratios = ratios[ratios["machine"] == machine]
    bars = speedup_chart(mine_ratios, div_id=f"speedup-{number}", machine=where, colours=colours)
    parts += [bars or Html(""), _speedup_table(mine_ratios, mine)]

    standard = standard_rows(mine)
    case = str(standard["case"].iloc[0]) if not standard.empty else ""
    parts.append(tag("h3", esc("Throughput against this machine's measured limits")))
    roof = roofline_chart(
        mine, ceilings, div_id=f"roofline-{number}", machine=where, colours=colours
    )
    if roof is None:
        why = (
            "No ceilings were measured in this run (run `shootout bench` to measure them)."
            if ceilings.empty
            else "Nothing timed here has both a flop count and a byte count."
        )
        parts.append(tag("p", esc(why), class_="small"))
    else:
        parts += [roof, _throughput_table(standard, case)]

    parts.append(tag("h3", esc("First call versus steady state")))
    first = first_call_chart(standard, div_id=f"first-call-{number}", machine=where, case=case)
    parts += [first or tag("p", esc("No first call was timed."), class_="small")]
    parts += [_scaling_table(mine), _timing_details(mine), _untimed_table(mine)]
    return join(parts)


def _run_meta(runs: pd.DataFrame, ceilings: pd.DataFrame) -> Html:
    lines = []
    for run in runs.sort_values("created").itertuples(index=False):
        state = "" if flag(run.complete) else " · INCOMPLETE (interrupted)"
        lines.append(
            f"run {run.run_id} · {run.created} · commit {str(run.commit)[:12] or 'unknown'}"
            f"{' (uncommitted changes)' if flag(run.dirty) else ''} · profile "
            f"{run.profile or '?'} · threads {run.threads or 'not recorded'}{state}"
        )
    for c in ceilings.drop_duplicates("device").itertuples(index=False):
        peaks = ", ".join(
            f"{fmt_number(getattr(c, f'matmul_{d}'))} GFLOP/s {d}"
            for d in ("float16", "float32", "float64")
            if not pd.isna(getattr(c, f"matmul_{d}"))
        )
        lines.append(
            f"ceilings ({c.device}): memory {fmt_number(c.memory_gbps)} GB/s; matmul {peaks}"
        )
    return join([tag("p", esc(line), class_="meta") for line in lines])


def _impl_order(frame: pd.DataFrame) -> list[str]:
    pairs = frame.drop_duplicates("impl")[["backend", "variant", "impl"]]
    rank = {b: i for i, b in enumerate(backend_order(pairs["backend"]))}
    ordered = sorted(pairs.itertuples(index=False), key=lambda p: (rank[p[0]], p[1]))
    return [str(p[2]) for p in ordered]


def _flag_mark(flagged: Any) -> Html:
    """A visible mark for a timing not trusted (harness.hygiene), its reason on hover."""
    if not isinstance(flagged, str) or not flagged:
        return Html("")
    return tag("span", esc(" not trusted"), class_="noisy", title=flagged)


def _noise_mark(noisy: Any, iqr: Any = None, median: Any = None) -> Html:
    """A visible flag for a measurement whose IQR exceeds 10 % of its median."""
    if not flag(noisy):
        return Html("")
    spread = ""
    if iqr is not None and median is not None and not pd.isna(iqr) and not pd.isna(median):
        spread = f" (IQR/median {100 * float(iqr) / float(median):.0f} %)"
    return tag(
        "span",
        esc(" noisy"),
        class_="noisy",
        title=f"IQR above 10 % of the median{spread}: treat this figure with care",
    )


def _speedup_table(ratios: pd.DataFrame, mine: pd.DataFrame) -> Html:
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
    standard = set(mine.loc[mine["standard"].fillna(False).astype(bool), "case"])
    rows = []
    for _, case in cases.iterrows():
        same = ratios[(ratios[_CASE_KEY] == case[_CASE_KEY]).all(axis=1)]
        reference = same.iloc[0]
        name = esc(case["case"])
        if case["case"] in standard:
            name = join([name, tag("span", esc(" standard"), class_="small")])
        row: list[Html | tuple[Html, str]] = [
            name,
            (esc(fmt_number(case["items"])), "num"),
            join(
                [
                    esc(
                        f"{reference['library_impl'] or '–'} "
                        f"({fmt_seconds(reference['library_median_s'])})"
                    ),
                    _noise_mark(reference["library_noisy"]),
                ]
            ),
        ]
        for impl in impls:
            cell = same[same["impl"] == impl]
            if cell.empty:
                row.append(esc("–"))
                continue
            ratio = cell.iloc[0]["speedup"]
            cls = "" if pd.isna(ratio) else "faster" if ratio >= 1 else "slower"
            content = tag(
                "span",
                esc(fmt_ratio(ratio)),
                title=f"median {fmt_seconds(cell.iloc[0]['median_s'])}",
            )
            row.append((join([content, _noise_mark(cell.iloc[0]["noisy"])]), f"num {cls}".strip()))
        rows.append(row)
    return join([note, table(["case", "items", "library (median)", *impls], rows)])


def _throughput_table(standard: pd.DataFrame, case: str) -> Html:
    """At the standard size: achieved rates and how much of the roof each one reaches."""
    rows = timed(standard).sort_values("median_s", kind="stable")
    if rows.empty:
        return Html("")
    body: list[list[Html | tuple[Html, str]]] = []
    for _, r in rows.iterrows():
        fraction = r["roof_fraction"]
        body.append(
            [
                join([esc(r["impl"]), _flag_mark(r.get("flagged"))]),
                (esc(fmt_seconds(r["median_s"])), "num"),
                (esc(fmt_number(r["gflops"])), "num"),
                (esc(fmt_number(r["gbps"])), "num"),
                (esc(fmt_number(r["intensity"])), "num"),
                (esc(fmt_number(r["roof_gflops"])), "num"),
                (esc("–" if pd.isna(fraction) else f"{100 * fraction:.3g} %"), "num"),
            ]
        )
    headers = ["impl", "median", "GFLOP/s", "GB/s", "flop/byte", "roof GFLOP/s", "of roof"]
    caption = tag(
        "p",
        esc(
            f"Case {case}. The roof at an intensity is min(matmul peak, intensity × memory "
            "bandwidth), both measured on this machine before timing; flop and byte counts "
            "come from the suite's cost model, so the fraction is approximate."
        ),
        class_="small",
    )
    return join([caption, table(headers, body)])


def _timing_details(measurements: pd.DataFrame) -> Html:
    """Every timed cell with its spread, rounds and first call; noisy ones flagged."""
    rows = timed(measurements).sort_values(["items", "case", "impl"], kind="stable")
    if rows.empty:
        return Html("")
    body: list[list[Html | tuple[Html, str]]] = []
    for _, r in rows.iterrows():
        spread = r["iqr_s"] / r["median_s"] if r["median_s"] > 0 else float("nan")
        low, high = r["ci_low_s"], r["ci_high_s"]
        interval = "–" if pd.isna(low) else f"{fmt_seconds(low)} – {fmt_seconds(high)}"
        body.append(
            [
                esc(r["case"]),
                esc(r["impl"]),
                (esc(fmt_seconds(r["median_s"])), "num"),
                (esc(interval), "num"),
                (esc(fmt_seconds(r["iqr_s"])), "num"),
                (
                    join(
                        [
                            esc("–" if pd.isna(spread) else f"{100 * spread:.1f} %"),
                            _noise_mark(r["noisy"], r["iqr_s"], r["median_s"]),
                            _flag_mark(r.get("flagged")),
                        ]
                    ),
                    "num",
                ),
                (esc(fmt_number(r["rounds"])), "num"),
                (esc(fmt_seconds(r["first_call_s"])), "num"),
                (esc(fmt_number(r["gflops"])), "num"),
                (esc(fmt_number(r["gbps"])), "num"),
            ]
        )
    noisy = int(rows["noisy"].fillna(False).astype(bool).sum())
    summary = (
        f"Timing details: {len(rows)} timed cells, {noisy} flagged noisy (IQR > 10 % of median)"
    )
    untrusted = len(rows) - len(trusted(rows))
    if untrusted:
        summary += f", {untrusted} not trusted (left out of every ranking)"
    headers = [
        "case",
        "impl",
        "median",
        f"{LEVEL:.0%} CI of median",
        "IQR",
        "IQR/median",
        "rounds",
        "first call",
    ]
    return Html(
        f"<details><summary>{esc(summary)}</summary>"
        f"{table([*headers, 'GFLOP/s', 'GB/s'], body)}</details>"
    )


def _scaling_table(measurements: pd.DataFrame) -> Html:
    """Each implementation's fitted exponent k (time ∝ size^k over the sizes timed)."""
    fits = scaling_exponents(measurements)
    if fits.empty:
        return Html("")
    several = fits["dtype"].nunique() > 1
    body: list[list[Html | tuple[Html, str]]] = [
        [
            esc(f"{f.impl} {f.dtype}" if several else f.impl),
            (esc(f"{f.exponent:.2f}"), "num"),
            (esc(fmt_number(f.sizes)), "num"),
        ]
        for f in fits.sort_values(["exponent", "impl"], kind="stable").itertuples(index=False)
    ]
    caption = tag(
        "p",
        esc(
            "Scaling: the least-squares slope k of log(median time) on log(problem size) "
            "over the sizes timed (at least two, a factor 2 apart). k ≈ 1 is linear in the "
            "items counted, k ≈ 2 quadratic; a small k at small sizes means fixed overhead."
        ),
        class_="small",
    )
    return join([tag("h3", esc("Scaling with problem size")), caption,
                 table(["impl", "exponent k", "sizes"], body)])  # fmt: skip


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
    verdicts = with_library_error(verdicts)
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
        "library's own error",
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
        return [Html("")] * 6
    numbers: list[Html | tuple[Html, str]] = [
        (esc(fmt_number(verdict[key])), "num")
        for key in ("max_abs", "max_rel", "error_ratio", "margin")
    ]
    rtol, atol = verdict["rtol"], verdict["atol"]
    exact = rtol == 0 and atol == 0
    text = esc("exact" if exact else f"rtol {fmt_number(rtol)}, atol {fmt_number(atol)}")
    return [*numbers, _library_cell(verdict), join([text, _small(verdict["tolerance_reason"])])]


def _library_cell(verdict: pd.Series) -> tuple[Html, str]:
    """The library reference's own max_abs (error_ratio) on this case, when one compared."""
    lib = verdict.get("library_max_abs")
    if lib is None or pd.isna(lib):
        return (Html(""), "num")
    ratio = verdict.get("library_error_ratio")
    shown = fmt_number(lib) + ("" if pd.isna(ratio) else f" ({fmt_number(ratio)})")
    return (esc(shown), "num")


def _small(text: str) -> Html:
    """A secondary line under a cell's main content; nothing when the text is empty."""
    return tag("div", esc(text), class_="small") if text else Html("")
