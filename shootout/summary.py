"""Markdown job summaries of verify and bench (the gate writes its own, shootout.gate): the
same tables as the terminal's, for a CI run's page or a pull-request comment."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from harness.verify import STATUSES
from shootout.digest import failure_groups
from shootout.present import MEASUREMENT_HEADER, VERDICT_HEADER, measurement_blocks, verdict_rows


def _cell(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: list[list[Any]], header: list[str]) -> list[str]:
    lines = ["| " + " | ".join(map(_cell, header)) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(map(_cell, r)) + " |" for r in rows]


def _code(text: str) -> str:
    quoted = text.replace("`", "'")
    return f"`{quoted}`"


def verify_markdown(verdicts: list[dict[str, Any]], fuzz: list[dict[str, Any]]) -> str:
    totals = Counter(v["status"] for v in verdicts)
    bad = totals["fail"] + totals["error"]
    counts = ", ".join(f"{totals.get(s, 0)} {s}" for s in STATUSES)
    status = f"FAIL: {bad} cell(s) disagree" if bad else "PASS"
    lines = ["## opshootout verify", "", f"**{status}** ({counts}; {len(verdicts)} cells)", ""]
    lines += [*markdown_table(verdict_rows(verdicts), VERDICT_HEADER), ""]
    for group in failure_groups(verdicts):
        first, others = group.first, group.cases[1:]
        also = f" (same on {len(others)} more: {', '.join(others)})" if others else ""
        lines.append(
            f"- **{group.status.upper()}** {_code(group.impl)} on {_code(first['case'])}{also}: "
            f"{_cell(first['detail'])}; re-run: {_code(first['repro'])}"
        )
    for f in fuzz:
        lines.append(
            f"- **FUZZ** {_code(f['impl'])}: shrunk failing case; re-run: {_code(f['repro'])}"
        )
    return "\n".join(lines).rstrip() + "\n"


def bench_markdown(records: list[dict[str, Any]], results: Path | None) -> str:
    bad = sum(1 for m in records if m["status"] in ("fail", "error"))
    timed = sum(1 for m in records if m["median_s"] is not None)
    status = f"FAIL: {bad} cell(s) wrong or broken" if bad else "PASS"
    lines = ["## opshootout bench", "", f"**{status}** ({timed} of {len(records)} cells timed)"]
    if results is not None:
        lines += ["", f"results: {_code(str(results))}"]
    for title, rows in measurement_blocks(records):
        lines += ["", f"### {_cell(title)}", "", *markdown_table(rows, MEASUREMENT_HEADER)]
    return "\n".join(lines).rstrip() + "\n"
