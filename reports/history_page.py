"""The history page: each implementation's median across the runs of one machine.

Only runs of the same machine are compared (timings from two machines say nothing about a
commit). Per algorithm one case is followed through time: the standard case when at least
two runs timed it, otherwise the case timed by the most runs, so a step in a line is a
change between runs, never a change of problem size.
"""

from __future__ import annotations

import pandas as pd

from reports.chart import history_chart
from reports.colours import Palette
from reports.markup import anchor, esc, join, link, page, tag
from reports.table import Frames, timed

HISTORY_FILE = "history.html"


def has_history(frames: Frames) -> bool:
    """True when some machine timed the same case of an algorithm in at least two runs
    (the shards of one run, ``--shard K/N``, time disjoint algorithms: no history)."""
    ok = timed(frames.measurements)
    runs = ok.groupby(["machine", "algorithm", "case"])["run_id"].nunique()
    return bool((runs >= 2).any())


def followed_case(rows: pd.DataFrame) -> str | None:
    """The case to follow across runs for one algorithm on one machine (see module doc)."""
    per_case = rows.groupby("case")["run_id"].nunique()
    per_case = per_case[per_case >= 2]
    if per_case.empty:
        return None
    standard = rows[rows["standard"].fillna(False).astype(bool)]
    for case in dict.fromkeys(standard["case"]):
        if case in per_case.index:
            return str(case)
    sizes = rows.groupby("case")["items"].max()
    ranked = sorted(per_case.index, key=lambda c: (-per_case[c], -float(sizes.get(c, 0) or 0)))
    return str(ranked[0])


def render_history(frames: Frames, pages: dict[str, str], colours: Palette | None = None) -> str:
    """The whole page; an algorithm with one run on every machine says so instead."""
    ok = timed(frames.measurements)
    parts = [
        tag("p", link("index.html", esc("← all algorithms"))),
        tag("h1", esc("History across runs")),
        tag(
            "p",
            esc(
                "Median time of every implementation in each run of the same machine, oldest "
                "first; a regression shows as a step up. Each chart follows one case."
            ),
            class_="small",
        ),
    ]
    number = 0
    for algorithm in sorted(set(ok["algorithm"])):
        parts.append(
            tag(
                "h2",
                link(pages.get(algorithm, "index.html"), esc(algorithm)),
                id=anchor("history", algorithm),
            )
        )
        mine = ok[ok["algorithm"] == algorithm]
        drawn = False
        for machine, rows in mine.groupby("machine", sort=True):
            label = f"{rows['machine_label'].iloc[0]} ({machine})"
            case = followed_case(rows)
            if case is None:
                continue
            chart = history_chart(
                rows[rows["case"] == case], f"history-{number}", label, colours or Palette()
            )
            number += 1
            if chart is not None:
                parts += [tag("p", esc(f"case {case}"), class_="small"), chart]
                drawn = True
        if not drawn:
            parts.append(
                tag("p", esc("Only one run timed this algorithm on each machine."), class_="small")
            )
    return page("history · opshootout", join(parts), charts=True)
