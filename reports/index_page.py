"""The front page: what was run where, then algorithms × backends coloured by verdict."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from harness.backends import BACKEND_TOKENS
from reports.chart import headline_chart
from reports.colours import Palette
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
    legend,
    link,
    page,
    status_class,
    table,
    tag,
)
from reports.table import (
    Frames,
    headline,
    latest,
    only_correct,
    standard_rows,
    timed,
    trusted,
)


def backend_order(names: Iterable[str]) -> list[str]:
    """The fixed backend vocabulary first, in its own order, then anything else by name."""
    present = set(names)
    known = [b for b in BACKEND_TOKENS if b in present]
    return known + sorted(present - set(known))


def render_index(
    frames: Frames,
    pages: Mapping[str, str],
    speedup_rows: pd.DataFrame,
    *,
    history: str | None = None,
    data: str | None = None,
    colours: Palette | None = None,
) -> str:
    """The index document; ``pages`` maps each algorithm to its page's file name and
    ``speedup_rows`` is ``speedups`` of all measurements (computed once for the site).

    ``history`` and ``data`` name the history page and the exported table, when present.
    """
    verdicts, measurements = latest(frames.verdicts), latest(frames.measurements)
    backends = backend_order([*verdicts["backend"], *measurements["backend"]])
    nav = []
    if history:
        nav.append(link(history, esc("history across runs")))
    if data:
        nav.append(link(data, esc("all data (CSV, one row per implementation × case × run)")))
    parts = [tag("h1", esc("opshootout results"))]
    if nav:
        parts.append(tag("nav", join(nav)))
    parts.append(_summary(frames, verdicts, measurements))
    chart = None
    if not pages:
        parts.append(tag("p", esc("No verdicts or measurements in the given results files.")))
    else:
        best = headline(measurements, verdicts)
        chart = headline_chart(best, "headline", colours or Palette())
        parts += [chart or Html(""), _headline(best, pages)]
    ratios = latest(speedup_rows)
    machines = frames.runs.drop_duplicates("machine").sort_values("machine_label")
    for machine, label in zip(machines["machine"], machines["machine_label"], strict=True):
        v = verdicts[verdicts["machine"] == machine]
        m = measurements[measurements["machine"] == machine]
        if v.empty and m.empty:
            continue
        parts.append(tag("h2", esc(f"Algorithms × backends on {label} ({machine})")))
        parts.append(
            tag(
                "p",
                esc(
                    "Colour: the worst verdict of the cell's cases. Figures: the fastest "
                    "correct variant's median at the standard size and its speedup against "
                    "the fastest library implementation on the same case and run. Click a "
                    "cell for the algorithm page."
                ),
                class_="small",
            )
        )
        grid_pages = {a: f"{name}#{anchor('machine', str(machine))}" for a, name in pages.items()}
        parts.append(_grid(v, m, ratios[ratios["machine"] == machine], backends, grid_pages))
    return page("opshootout results", join(parts), charts=chart is not None)


def _ratio_cell(value: float) -> tuple[Html, str]:
    if pd.isna(value):
        return esc(fmt_ratio(value)), "num"
    return esc(fmt_ratio(value)), f"num {'faster' if value >= 1 else 'slower'}"


def _headline(best: pd.DataFrame, pages: Mapping[str, str]) -> Html:
    """The fastest correct implementation of every algorithm at its standard size."""
    if best.empty:
        return tag("p", esc("No correct implementation was timed yet."), class_="small")
    several = best["machine"].nunique() > 1
    rows = []
    for _, r in best.iterrows():
        size = f" {fmt_number(r['items'])} {r['item_unit']}".rstrip()
        row: list[Html | tuple[Html, str]] = [
            link(pages.get(str(r["algorithm"]), "index.html"), esc(r["algorithm"])),
            join([esc(r["case"]), tag("span", esc(size), class_="small")]),
            esc(r["impl"]),
            (esc(fmt_seconds(r["median_s"])), "num"),
            esc(f"{r['library_impl'] or '–'} ({fmt_seconds(r['library_median_s'])})"),
            _ratio_cell(r["speedup"]),
            esc(
                f"{r['handwritten_impl']} ({fmt_seconds(r['handwritten_median_s'])})"
                if r["handwritten_impl"]
                else "–"
            ),
            _ratio_cell(r["handwritten_speedup"]),
        ]
        if several:
            row.insert(0, esc(r["machine_label"]))
        rows.append(row)
    headers = [
        "algorithm",
        "case",
        "fastest correct",
        "median",
        "fastest library",
        "speedup",
        "fastest handwritten",
        "vs library",
    ]
    return join(
        [
            tag("h2", esc("Fastest correct implementation per algorithm (standard size)")),
            table(["machine", *headers] if several else headers, rows),
        ]
    )


def _summary(frames: Frames, verdicts: pd.DataFrame, measurements: pd.DataFrame) -> Html:
    runs = frames.runs
    machines = [
        f"{label} (fingerprint {fp}, {fmt_number(cores)} cores, {fmt_number(mem)} GB)"
        for label, fp, cores, mem in runs.drop_duplicates("machine")[
            ["machine_label", "machine", "cores", "memory_gb"]
        ].itertuples(index=False)
    ]
    commits = []
    for commit, group in runs.groupby("commit", sort=True):
        dirty = " (uncommitted changes)" if group["dirty"].fillna(False).any() else ""
        commits.append(f"{str(commit)[:12] or 'unknown'}{dirty}")
    dates = sorted({str(c)[:10] for c in runs["created"] if c})
    counts = verdicts["status"].value_counts()
    tally = [f"{int(counts[s])} {s}" for s in SEVERITY if s in counts]
    lines = [
        ("Machines", "; ".join(machines) or "none"),
        ("Commits", ", ".join(commits) or "none"),
        ("Dates", " – ".join([dates[0], dates[-1]]) if len(dates) > 1 else "".join(dates)),
        ("Runs", str(len(runs))),
        ("Cells by verdict", " · ".join(tally) or "none"),
        ("Timings", f"{len(timed(measurements))} of {len(measurements)} measurements timed"),
    ]
    meta = [
        tag("p", join([tag("b", esc(f"{name}: ")), esc(value)]), class_="meta")
        for name, value in lines
    ]
    return join([*meta, legend()])


def _grid(
    verdicts: pd.DataFrame,
    measurements: pd.DataFrame,
    ratios: pd.DataFrame,
    backends: list[str],
    pages: Mapping[str, str],
) -> Html:
    algorithms = sorted(set(verdicts["algorithm"]) | set(measurements["algorithm"]))
    standard = only_correct(standard_rows(measurements), verdicts)
    rows = []
    for algorithm in algorithms:
        v = verdicts[verdicts["algorithm"] == algorithm]
        s = standard[standard["algorithm"] == algorithm]
        r = ratios[ratios["algorithm"] == algorithm]
        row: list[Html | tuple[Html, str]] = [link(pages[algorithm], esc(algorithm))]
        for b in backends:
            content, cls = _cell(v[v["backend"] == b], s[s["backend"] == b], r)
            if cls != status_class("none"):
                content = tag("a", content, href=pages[algorithm], class_="cell")
            row.append((content, cls))
        rows.append(row)
    return table(["algorithm", *backends], rows)


def _cell(verdicts: pd.DataFrame, standard: pd.DataFrame, ratios: pd.DataFrame) -> tuple[Html, str]:
    """One algorithm × backend: worst verdict as colour, counts, time at the standard size."""
    if verdicts.empty and standard.empty:
        return esc("not implemented"), status_class("none")
    statuses = set(verdicts["status"])
    worst = next((s for s in ("error", "fail") if s in statuses), None)
    if worst is None:
        worst = "pass" if statuses & {"pass", "xfail"} else "skip" if statuses else "none"
    counts = verdicts["status"].value_counts()
    tally = " · ".join(f"{int(counts[s])} {s}" for s in SEVERITY if s in counts)
    reasons = [r for r in dict.fromkeys(verdicts.loc[verdicts["status"] == "skip", "detail"]) if r]
    # Skips beside passes are normal (size caps); their reasons wait in the tooltip.
    lines = [tag("span", esc(tally or "no verdicts"), title="\n".join(reasons))]
    if worst == "skip":
        lines.append(_skip_reasons(reasons))
    best = _best_time(standard, ratios)
    if best is not None:
        lines.append(best)
    return join(lines, "<br>"), status_class(worst)


def _skip_reasons(reasons: list[str]) -> Html:
    if not reasons:
        return esc("not run here")
    more = f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else ""
    return tag(
        "span", esc(f"not run here: {reasons[0]}{more}"), class_="small", title="\n".join(reasons)
    )


def _best_time(standard: pd.DataFrame, ratios: pd.DataFrame) -> Html | None:
    """The fastest correct variant's median at the standard size, and its speedup."""
    rows = trusted(standard)
    if rows.empty:
        return None
    best = rows.loc[rows["median_s"].idxmin()]
    text = f"{fmt_seconds(best['median_s'])} · {best['variant']}"
    same = ratios[
        (ratios["impl"] == best["impl"])
        & (ratios["case"] == best["case"])
        & (ratios["run_id"] == best["run_id"])
        & (ratios["dtype"] == best["dtype"])
    ]
    if not same.empty and not pd.isna(same["speedup"].iloc[0]):
        text += f" · {fmt_ratio(same['speedup'].iloc[0])} vs library"
    size = f"{fmt_number(best['items'])} {best['item_unit']}".strip()
    return tag(
        "span",
        esc(text),
        class_="small",
        title=f"case {best['case']} ({best['dtype']}, {size})"
        + ("" if flag(best["standard"]) else "; the largest size timed in this run"),
    )
