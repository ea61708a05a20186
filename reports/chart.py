"""The report's Plotly charts: timings, speedups, roofline, first call and history.

Figures are plain dicts handed to plotly.io unvalidated: validating every trace through
plotly's object model made a 100-algorithm site take minutes, and the dicts here use only
plain, documented trace and layout attributes. Every text that comes from a results file
is escaped, because plotly.js reads labels and hover text as a small HTML dialect.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.io as pio

from reports.colours import Palette
from reports.markup import Html, esc, flag, fmt_number, fmt_seconds
from reports.table import timed

_DEFAULT = Palette()


def _hover(row: pd.Series) -> str:
    """Hover text; plotly.js reads it as pseudo-HTML, so values are escaped."""
    lines = [
        f"<b>{esc(row['impl'])}</b> · {esc(row['case'])} ({esc(row['dtype'])})",
        f"{fmt_number(row['items'])} {esc(row['item_unit'])}",
        f"median {fmt_seconds(row['median_s'])} · IQR {fmt_seconds(row['iqr_s'])}",
        f"rounds {fmt_number(row['rounds'])}" + (" · <i>noisy</i>" if flag(row["noisy"]) else ""),
        f"{fmt_number(row['gflops'])} GFLOP/s · {fmt_number(row['gbps'])} GB/s",
        f"first call {fmt_seconds(row['first_call_s'])}",
    ]
    fraction = row.get("roof_fraction")
    if fraction is not None and not pd.isna(fraction):
        lines.append(f"{100 * float(fraction):.3g} % of this machine's roof")
    flagged = row.get("flagged")
    if isinstance(flagged, str) and flagged:
        lines.append(f"<i>not trusted, left out of rankings</i>: {esc(flagged)}")
    return "<br>".join(lines)


_AXIS = {"gridcolor": "#e6e6ea", "zerolinecolor": "#d0d0d5", "automargin": True}


def _trace(kind: str, **props: Any) -> dict[str, Any]:
    return {"type": kind, **props}


def _parity_line(value_axis: str) -> dict[str, Any]:
    """A dotted line at 1 on ``value_axis`` ("x" or "y") across the whole plot."""
    across = "y" if value_axis == "x" else "x"
    return {
        "type": "line",
        f"{across}ref": "paper",
        f"{across}0": 0,
        f"{across}1": 1,
        f"{value_axis}0": 1.0,
        f"{value_axis}1": 1.0,
        "line": {"color": "#555", "dash": "dot"},
    }


def figure_html(traces: list[dict[str, Any]], div_id: str, title: str, **layout: Any) -> Html:
    """A chart's div and script; plotly.js itself is loaded once per page, not per chart."""
    for axis in ("xaxis", "yaxis"):
        layout[axis] = {**_AXIS, **layout.get(axis, {})}
    figure = {
        "data": traces,
        "layout": {
            "height": 430,
            "title": {"text": esc(title), "font": {"size": 14}},
            "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
            "paper_bgcolor": "white",
            "plot_bgcolor": "white",
            "font": {"family": "system-ui, sans-serif", "size": 12},
            "hoverlabel": {"align": "left"},
            **layout,
        },
    }
    return Html(
        pio.to_html(
            figure,
            validate=False,
            full_html=False,
            include_plotlyjs=False,
            div_id=div_id,
            config={"displaylogo": False, "responsive": True},
        )
    )


def timing_chart(
    measurements: pd.DataFrame, div_id: str, machine: str, colours: Palette = _DEFAULT
) -> Html | None:
    """One trace per implementation (and dtype, when several were timed); None if no data.

    ``measurements`` holds one algorithm on one machine. Library implementations are drawn
    dashed so the reference is easy to pick out.
    """
    rows = timed(measurements)
    rows = rows[rows["items"] > 0]
    if rows.empty:
        return None
    several_dtypes = rows["dtype"].nunique() > 1
    units = sorted(u for u in rows["item_unit"].unique() if u)
    traces: list[dict[str, Any]] = []
    for (impl, dtype), group in rows.groupby(["impl", "dtype"], sort=True):
        group = group.sort_values("items", kind="stable")
        name = f"{impl} {dtype}" if several_dtypes else str(impl)
        library = bool((group["kind"] == "library").any())
        traces.append(
            _trace(
                "scatter",
                x=group["items"].tolist(),
                y=group["median_s"].tolist(),
                mode="lines+markers",
                name=esc(name),
                text=[_hover(row) for _, row in group.iterrows()],
                hovertemplate="%{text}<extra></extra>",
                line={"dash": "dash" if library else "solid", "color": colours(str(impl))},
                marker={"color": colours(str(impl))},
            )
        )
    return figure_html(
        traces,
        div_id,
        f"Median time vs problem size on {machine}",
        xaxis={
            "type": "log",
            "title": {
                "text": f"problem size ({esc(', '.join(units))})"
                if units
                else "problem size (items)"
            },
        },
        yaxis={"type": "log", "title": {"text": "median time (s)"}},
        legend={"title": {"text": "implementation"}},
    )


def speedup_chart(
    ratios: pd.DataFrame, div_id: str, machine: str, colours: Palette = _DEFAULT
) -> Html | None:
    """Bars of library time / implementation time per case; the line at 1 is parity."""
    rows = ratios[ratios["speedup"].notna() & (ratios["speedup"] > 0)]
    if rows.empty:
        return None
    cases = rows.drop_duplicates("case").sort_values(["items", "case"], kind="stable")["case"]
    order = [str(c) for c in cases]
    traces: list[dict[str, Any]] = []
    for impl, group in rows.groupby("impl", sort=True):
        group = group.set_index("case").reindex(order)
        traces.append(
            _trace(
                "bar",
                x=[esc(c) for c in order],
                y=group["speedup"].tolist(),
                name=esc(impl),
                marker={"color": colours(str(impl))},
                hovertext=[
                    f"{esc(impl)} on {esc(c)}<br>{s:.3g}× vs {esc(lib)}" if not pd.isna(s) else ""
                    for c, s, lib in zip(
                        order, group["speedup"], group["library_impl"], strict=True
                    )
                ],
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
    parity = _parity_line("y")
    return figure_html(
        traces,
        div_id,
        f"Speedup vs the fastest library implementation on {machine} (above 1 = faster)",
        shapes=[parity],
        barmode="group",
        xaxis={"title": {"text": "case (by problem size)"}, "type": "category"},
        yaxis={"type": "log", "title": {"text": "speedup (×)"}},
        legend={"title": {"text": "implementation"}},
    )


def roofline_chart(
    measurements: pd.DataFrame,
    ceilings: pd.DataFrame,
    div_id: str,
    machine: str,
    colours: Palette = _DEFAULT,
) -> Html | None:
    """Achieved GFLOP/s against arithmetic intensity, under this run's measured roofs.

    ``measurements`` carries ``with_roofline``'s columns; ``ceilings`` holds the rows of
    the runs shown. None when nothing has both a rate and an intensity, or no ceiling.
    """
    rows = timed(measurements)
    rows = rows[(rows["intensity"] > 0) & (rows["gflops"] > 0) & rows["peak_gbps"].notna()]
    if rows.empty or ceilings.empty:
        return None
    traces: list[dict[str, Any]] = []
    low = float(rows["intensity"].min()) / 4
    high = float(rows["intensity"].max()) * 4
    for ceiling in ceilings.drop_duplicates("device").itertuples(index=False):
        for dtype in ("float64", "float32", "float16"):
            peak = getattr(ceiling, f"matmul_{dtype}")
            if pd.isna(peak) or pd.isna(ceiling.memory_gbps) or dtype not in set(rows["dtype"]):
                continue
            ridge = peak / ceiling.memory_gbps
            xs = [min(low, ridge / 4), ridge, max(high, ridge * 4)]
            ys = [xs[0] * ceiling.memory_gbps, peak, peak]
            label = (
                f"{ceiling.device} roof {dtype}: {fmt_number(ceiling.memory_gbps)} GB/s, "
                f"{fmt_number(peak)} GFLOP/s"
            )
            traces.append(
                _trace(
                    "scatter",
                    x=xs,
                    y=ys,
                    mode="lines",
                    name=esc(label),
                    line={"color": "#888", "dash": "dash" if dtype == "float64" else "solid"},
                    hovertemplate=esc(label) + "<extra></extra>",
                )
            )
    for impl, group in rows.groupby("impl", sort=True):
        traces.append(
            _trace(
                "scatter",
                x=group["intensity"].tolist(),
                y=group["gflops"].tolist(),
                mode="markers",
                marker={"size": 9, "color": colours(str(impl))},
                name=esc(impl),
                text=[_hover(row) for _, row in group.iterrows()],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    return figure_html(
        traces,
        div_id,
        f"Achieved throughput vs measured ceilings on {machine}",
        xaxis={"type": "log", "title": {"text": "arithmetic intensity (flop / byte)"}},
        yaxis={"type": "log", "title": {"text": "achieved GFLOP/s"}},
        legend={"title": {"text": "roof / implementation"}},
    )


def first_call_chart(rows: pd.DataFrame, div_id: str, machine: str, case: str) -> Html | None:
    """First call (compile, caches, allocation) beside the steady-state median, one case."""
    rows = timed(rows)
    rows = rows[rows["first_call_s"] > 0].sort_values("impl", kind="stable")
    if rows.empty:
        return None
    names = [esc(i) for i in rows["impl"]]
    traces = [
        _trace("bar", x=names, y=rows["first_call_s"].tolist(), name="first call"),
        _trace("bar", x=names, y=rows["median_s"].tolist(), name="steady-state median"),
    ]
    return figure_html(
        traces,
        div_id,
        f"First call vs steady state, case {case}, on {machine}",
        barmode="group",
        xaxis={"title": {"text": "implementation"}, "type": "category"},
        yaxis={"type": "log", "title": {"text": "time (s)"}},
    )


def history_chart(
    rows: pd.DataFrame, div_id: str, machine: str, colours: Palette = _DEFAULT
) -> Html | None:
    """Median time of each implementation across runs (oldest first) at one case per run.

    ``rows`` holds one algorithm on one machine, one row per implementation × run; a
    regression shows as a step up. The x axis is the run: date and commit.
    """
    rows = timed(rows).sort_values(["created", "run_id"], kind="stable")
    if rows["run_id"].nunique() < 2:
        return None
    runs = rows.drop_duplicates("run_id")
    labels = {
        r: f"{c[:16].replace('T', ' ')} · {(k or 'no commit')[:8]}"
        for r, c, k in zip(runs["run_id"], runs["created"], runs["commit"], strict=True)
    }
    order = [esc(labels[r]) for r in runs["run_id"]]
    traces: list[dict[str, Any]] = []
    for impl, group in rows.groupby("impl", sort=True):
        traces.append(
            _trace(
                "scatter",
                x=[esc(labels[r]) for r in group["run_id"]],
                y=group["median_s"].tolist(),
                mode="lines+markers",
                name=esc(impl),
                text=[_hover(row) for _, row in group.iterrows()],
                hovertemplate="%{text}<extra></extra>",
                line={
                    "dash": "dash" if (group["kind"] == "library").any() else "solid",
                    "color": colours(str(impl)),
                },
                marker={"color": colours(str(impl))},
            )
        )
    return figure_html(
        traces,
        div_id,
        f"Median time across runs on {machine}",
        xaxis={
            "type": "category",
            "categoryorder": "array",
            "categoryarray": order,
            "title": {"text": "run (date · commit)"},
        },
        yaxis={"type": "log", "title": {"text": "median time (s)"}},
        legend={"title": {"text": "implementation"}},
    )


def headline_chart(best: pd.DataFrame, div_id: str, colours: Palette = _DEFAULT) -> Html | None:
    """Per algorithm, its fastest correct handwritten implementation's speedup over the
    fastest library at the standard size, on a log axis (right of 1 = faster). One bar
    group per machine; each bar in its implementation's colour."""
    rows = best[best["handwritten_speedup"].notna() & (best["handwritten_speedup"] > 0)]
    if rows.empty:
        return None
    order = sorted(set(rows["algorithm"]), reverse=True)  # top to bottom alphabetically
    traces: list[dict[str, Any]] = []
    for label, group in rows.groupby("machine_label", sort=True):
        group = group.set_index("algorithm").reindex(order).dropna(subset=["handwritten_impl"])
        impls = [str(i) for i in group["handwritten_impl"]]
        traces.append(
            _trace(
                "bar",
                orientation="h",
                y=[esc(a) for a in group.index],
                x=group["handwritten_speedup"].tolist(),
                name=esc(label),
                marker={"color": [colours(i) for i in impls]},
                hovertext=[
                    f"{esc(a)}: {esc(i)} {s:.3g}× vs {esc(lib)}"
                    for a, i, s, lib in zip(
                        group.index,
                        impls,
                        group["handwritten_speedup"],
                        group["library_impl"],
                        strict=True,
                    )
                ],
                hovertemplate="%{hovertext}<extra>" + esc(label) + "</extra>",
            )
        )
    parity = _parity_line("x")
    return figure_html(
        traces,
        div_id,
        "Best handwritten implementation vs the fastest library, standard size "
        "(right of 1 = faster)",
        shapes=[parity],
        barmode="group",
        height=max(300, 28 * len(order) + 120),
        showlegend=len(traces) > 1,
        xaxis={"type": "log", "title": {"text": "speedup over the library (×, log scale)"}},
        yaxis={
            "type": "category",
            "categoryorder": "array",
            "categoryarray": [esc(a) for a in order],
        },
    )
