"""The front page: what was run where, then algorithms × backends coloured by verdict."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from harness.backends import BACKENDS
from reports.markup import (
    SEVERITY,
    Html,
    esc,
    fmt_number,
    fmt_seconds,
    join,
    legend,
    link,
    page,
    status_class,
    table,
    tag,
)
from reports.table import Frames, latest, timed


def backend_order(names: Iterable[str]) -> list[str]:
    """The fixed backend vocabulary first, in its own order, then anything else by name."""
    present = set(names)
    known = [b for b in (*BACKENDS, "library") if b in present]
    return known + sorted(present - set(known))


def render_index(frames: Frames, pages: Mapping[str, str]) -> str:
    """The index document; ``pages`` maps each algorithm to its page's file name."""
    verdicts, measurements = latest(frames.verdicts), latest(frames.measurements)
    backends = backend_order([*verdicts["backend"], *measurements["backend"]])
    parts = [tag("h1", esc("opshootout results")), _summary(frames, verdicts, measurements)]
    if not pages:
        parts.append(tag("p", esc("No verdicts or measurements in the given results files.")))
    machines = frames.runs.drop_duplicates("machine").sort_values("machine_label")
    for machine, label in zip(machines["machine"], machines["machine_label"], strict=True):
        v = verdicts[verdicts["machine"] == machine]
        m = measurements[measurements["machine"] == machine]
        if v.empty and m.empty:
            continue
        if len(machines) > 1:
            parts.append(tag("h2", esc(f"{label} ({machine})")))
        parts.append(_grid(v, m, backends, pages))
    return page("opshootout results", join(parts))


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
    backends: list[str],
    pages: Mapping[str, str],
) -> Html:
    algorithms = sorted(set(verdicts["algorithm"]) | set(measurements["algorithm"]))
    rows = []
    for algorithm in algorithms:
        v = verdicts[verdicts["algorithm"] == algorithm]
        m = measurements[measurements["algorithm"] == algorithm]
        row: list[Html | tuple[Html, str]] = [link(pages[algorithm], esc(algorithm))]
        row += [_cell(v[v["backend"] == b], m[m["backend"] == b]) for b in backends]
        rows.append(row)
    return table(["algorithm", *backends], rows)


def _cell(verdicts: pd.DataFrame, measurements: pd.DataFrame) -> tuple[Html, str]:
    """The summary of one algorithm × backend: worst verdict as colour, counts, best time."""
    if verdicts.empty and measurements.empty:
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
    best = _best_time(measurements)
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


def _best_time(measurements: pd.DataFrame) -> Html | None:
    """The fastest variant's median at the largest problem this backend was timed on."""
    rows = timed(measurements)
    sized = rows[rows["items"].notna()]
    if rows.empty:
        return None
    if not sized.empty:
        rows = sized[sized["items"] == sized["items"].max()]
    best = rows.loc[rows["median_s"].idxmin()]
    size = f" @ {fmt_number(best['items'])} {best['item_unit']}".rstrip() if not sized.empty else ""
    return tag(
        "span",
        esc(f"{fmt_seconds(best['median_s'])} · {best['variant']}{size}"),
        class_="small",
        title=f"case {best['case']} ({best['dtype']})",
    )
