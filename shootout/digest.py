"""Verdicts grouped for a person: the same failure on many cells is read once, with one repro.

Two details are the same failure when they differ only in their numbers (counts, indices,
sizes, dtypes' widths): "3072/3072 elements differ ... NaN where the oracle has a number" on
one case and "24/36 elements differ ... NaN where the oracle has a number" on another.
"""

from __future__ import annotations

import re
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
# harness.comparators.close: "N/M elements differ; first at I: got A, expected B; ..."
_ELEMENTS = re.compile(r"^\d+/\d+ elements differ\b")
_COUNT = re.compile(r"^\d+ ")
BAD = ("fail", "error")
WRAP = 100


def shape_of(detail: str) -> str:
    """The detail with every number replaced by '#': what identical failures share."""
    return _NUMBER.sub("#", detail)


def headline(detail: str) -> str:
    """The kind of a failure in a few words, whole clauses only.

    A comparator's element report ("N/M elements differ; first at I: got A, expected B; ...")
    names its kinds after where the first one is ("3072 NaN where the oracle has a number",
    "12 finite values off: worst abs ..."): those kinds, without their counts or figures.
    Any other detail: its first clause.
    """
    clauses = detail.split("; ")
    if len(clauses) > 1 and _ELEMENTS.match(clauses[0]):
        kinds = [
            _COUNT.sub("", c).split(":", 1)[0] for c in clauses[1:] if not c.startswith("first at")
        ]
        return "; ".join(dict.fromkeys(kinds))
    return clauses[0]


def _impl(v: dict[str, Any]) -> str:
    return f"{v['algorithm']}/{v['backend']}/{v['variant']}"


@dataclass
class Group:
    """Verdicts of one implementation with the same status and the same failure."""

    status: str
    impl: str
    verdicts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def first(self) -> dict[str, Any]:
        return self.verdicts[0]

    @property
    def cases(self) -> list[str]:
        return [str(v["case"]) for v in self.verdicts]

    def text(self) -> str:
        """The failure as printed: the first cell's full detail, the other cases, one repro."""
        first, n = self.first, len(self.verdicts)
        more = f" and {n - 1} more case{'s' if n > 2 else ''}" if n > 1 else ""
        lines = [f"{self.status.upper()} {self.impl} on {first['case']}{more}: {first['detail']}"]
        if n > 1:
            lines.append(
                textwrap.fill(
                    "same on: " + ", ".join(self.cases[1:]),
                    WRAP,
                    initial_indent="  ",
                    subsequent_indent="    ",
                    break_on_hyphens=False,
                )
            )
        lines.append(f"  re-run: {first['repro']}")
        return "\n".join(lines)


def failure_groups(verdicts: list[dict[str, Any]]) -> list[Group]:
    """Failing and erroring verdicts, grouped by implementation, status and failure, in the
    order they first appear."""
    groups: dict[tuple[str, str, str], Group] = {}
    for v in verdicts:
        if v["status"] not in BAD:
            continue
        key = (_impl(v), v["status"], shape_of(str(v["detail"])))
        groups.setdefault(key, Group(v["status"], _impl(v))).verdicts.append(v)
    return list(groups.values())


def impl_notes(verdicts: list[dict[str, Any]]) -> dict[str, str]:
    """Per implementation, what went wrong or was skipped, as whole clauses with counts:
    "15 fail: NaN where the oracle has a number; 3 skip: cupy: no CUDA device"."""
    counts: dict[str, Counter[tuple[str, str]]] = {}
    for v in verdicts:
        status, detail = v["status"], str(v["detail"] or "")
        if status == "skip" and detail and not detail.startswith("unsupported convention"):
            kind = shape_of(detail)
        elif status in BAD:
            kind = headline(detail)
        else:
            continue
        counts.setdefault(_impl(v), Counter())[(status, kind)] += 1
    first_detail: dict[tuple[str, str, str], str] = {}
    for v in verdicts:
        if v["status"] == "skip":
            first_detail.setdefault((_impl(v), "skip", shape_of(str(v["detail"]))), v["detail"])
    notes = {}
    for impl, kinds in counts.items():
        parts = []
        for (status, kind), n in kinds.items():
            shown = first_detail.get((impl, status, kind), kind) if status == "skip" else kind
            parts.append(f"{n} {status}: {shown}")
        notes[impl] = "; ".join(parts)
    return notes
