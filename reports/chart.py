"""The Plotly chart of an algorithm's timings: median time against problem size, log-log."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from reports.markup import Html, esc, fmt_number, fmt_seconds
from reports.table import timed


def _noisy(row: pd.Series) -> bool:
    flag = row["noisy"]
    return False if pd.isna(flag) else bool(flag)


def _hover(row: pd.Series) -> str:
    """Hover text; plotly.js reads it as pseudo-HTML, so values are escaped."""
    lines = [
        f"<b>{esc(row['impl'])}</b> · {esc(row['case'])} ({esc(row['dtype'])})",
        f"{fmt_number(row['items'])} {esc(row['item_unit'])}",
        f"median {fmt_seconds(row['median_s'])} · IQR {fmt_seconds(row['iqr_s'])}",
        f"rounds {fmt_number(row['rounds'])}" + (" · <i>noisy</i>" if _noisy(row) else ""),
        f"{fmt_number(row['gflops'])} GFLOP/s · {fmt_number(row['gbps'])} GB/s",
    ]
    return "<br>".join(lines)


def timing_chart(measurements: pd.DataFrame, div_id: str) -> Html | None:
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
    fig = go.Figure()
    for (impl, dtype), group in rows.groupby(["impl", "dtype"], sort=True):
        group = group.sort_values("items", kind="stable")
        name = f"{impl} {dtype}" if several_dtypes else str(impl)
        library = bool((group["kind"] == "library").any())
        fig.add_trace(
            go.Scatter(
                x=group["items"].tolist(),
                y=group["median_s"].tolist(),
                mode="lines+markers",
                name=esc(name),
                text=[_hover(row) for _, row in group.iterrows()],
                hovertemplate="%{text}<extra></extra>",
                line={"dash": "dash" if library else "solid"},
            )
        )
    fig.update_layout(
        template="plotly_white",
        height=460,
        margin={"l": 60, "r": 20, "t": 30, "b": 50},
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
    return Html(
        fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=div_id,
            config={"displaylogo": False, "responsive": True},
        )
    )
