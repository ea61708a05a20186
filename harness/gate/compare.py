"""Two saved results files compared cell by cell with the gate's statistics (``verdict``).

What ``pytest-benchmark compare``, ``asv compare`` and ``pyperf compare_to`` do, judged
like the gate: per cell present and timed in both, the ratio of medians B/A, a bootstrap
95 % interval, a Mann-Whitney p-value adjusted by Benjamini-Hochberg across the cells, and
the verdict (slower, faster, same, ambiguous) from the thresholds file.

One results file is one run: one process per cell. Its samples are the only repetitions it
holds, so they are the units here (each sample is one "round" of ``compare_cell``), where
the gate has one fresh process per round. The interval therefore shows the noise within
a process, not between processes (10-20 % on a 2-core machine), and a ratio under the
threshold is never called slower or faster whatever the p-value; for a decision that must
hold, the gate interleaves fresh processes.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict
from typing import Any

from harness.gate import GateError
from harness.gate.verdict import GateConfig, compare_cell, judge

UNIT = "sample"  # what the statistics count as independent (see the module doc)
# Two measurements of the same cell name must be of the same problem to be compared.
SAME_PROBLEM = ("params", "options", "dtype")


class CompareError(GateError):
    """Files that cannot be compared (different machines): one line, exit 2."""


def cell_key(record: dict[str, Any]) -> str:
    return "/".join(str(record[k]) for k in ("algorithm", "backend", "variant", "case"))


def _samples(record: dict[str, Any], where: str) -> list[float]:
    samples = record.get("samples")
    if not isinstance(samples, list) or not all(
        isinstance(s, int | float) and not isinstance(s, bool) and math.isfinite(s) and s > 0
        for s in samples
    ):
        raise CompareError(f"{where}: samples must be a list of positive numbers of seconds")
    return [float(s) for s in samples]


def timed_cells(
    document: dict[str, Any], name: str
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """(cells timed with samples, by key; cells not timed, by key -> why)."""
    timed: dict[str, dict[str, Any]] = {}
    untimed: dict[str, str] = {}
    for number, m in enumerate(document["measurements"]):
        where = f"{name}: measurement #{number}"
        if not isinstance(m, dict) or any(
            not isinstance(m.get(k), str) for k in ("algorithm", "backend", "variant", "case")
        ):
            raise CompareError(f"{where} lacks its algorithm, backend, variant or case")
        key = cell_key(m)
        if m.get("status") == "ok" and m.get("samples"):
            timed[key] = {**m, "samples": _samples(m, f"{where} ({key})")}
            untimed.pop(key, None)
        elif key not in timed:
            untimed[key] = f"{m.get('status')}: {m.get('reason') or 'no samples'}"
    return timed, untimed


def _table(document: dict[str, Any], key: str) -> dict[str, Any]:
    value = document.get(key)
    return value if isinstance(value, dict) else {}


def machine_mismatch(a: dict[str, Any], b: dict[str, Any], names: tuple[str, str]) -> str | None:
    """Why the two runs' timings cannot be compared (other machines), or None."""
    machines = [_table(d, "machine") for d in (a, b)]
    prints = [m.get("fingerprint") for m in machines]
    if prints[0] and prints[0] == prints[1]:
        return None

    def label(name: str, machine: dict[str, Any], fingerprint: Any) -> str:
        if not fingerprint:
            return f"{name} records no machine fingerprint"
        cpu = machine.get("cpu") or "unknown CPU"
        gpu = f" + {machine['gpu']}" if machine.get("gpu") else ""
        return f"{name} on {fingerprint} ({cpu}{gpu}, {machine.get('cores')} cores)"

    where = "; ".join(label(n, m, f) for n, m, f in zip(names, machines, prints, strict=True))
    return (
        f"the files come from different machines ({where}): timings of two machines say "
        "nothing about the code; pass --force to compare them anyway"
    )


def _run_summary(document: dict[str, Any], name: str) -> dict[str, Any]:
    git, machine = _table(document, "git"), _table(document, "machine")
    return {
        "file": name,
        "run_id": document.get("run_id"),
        "created": document.get("created"),
        "commit": git.get("commit"),
        "dirty": git.get("dirty"),
        "profile": document.get("profile"),
        "machine": machine.get("fingerprint"),
        "threads": document.get("threads"),
        "complete": document.get("complete"),
    }


def compare_results(
    a: dict[str, Any],
    b: dict[str, Any],
    config: GateConfig,
    *,
    names: tuple[str, str] = ("A", "B"),
    force: bool = False,
) -> dict[str, Any]:
    """The comparison of two loaded results files, B against A (A is the base; ``names``
    are their file names, shown where the machines differ).

    CompareError when they come from different machines and ``force`` is not set, or when
    a measurement is malformed. ``passed`` is False when a cell is slower."""
    mismatch = machine_mismatch(a, b, names)
    if mismatch and not force:
        raise CompareError(mismatch)
    (timed_a, untimed_a), (timed_b, untimed_b) = timed_cells(a, names[0]), timed_cells(b, names[1])
    present_a, present_b = timed_a.keys() | untimed_a.keys(), timed_b.keys() | untimed_b.keys()
    cells, not_compared, neither = [], {}, 0
    for key in sorted(present_a & present_b):
        if key not in timed_a and key not in timed_b:
            neither += 1  # skipped in both (no such device here, say): nothing to say
            continue
        if key not in timed_b:
            not_compared[key] = f"not timed in B ({untimed_b[key]})"
            continue
        if key not in timed_a:
            not_compared[key] = f"not timed in A ({untimed_a[key]})"
            continue
        ma, mb = timed_a[key], timed_b[key]
        changed = [k for k in SAME_PROBLEM if ma.get(k) != mb.get(k)]
        if changed:
            not_compared[key] = f"another problem under the same case name ({', '.join(changed)})"
            continue
        per_sample = [[s] for s in ma["samples"]], [[s] for s in mb["samples"]]
        cells.append(compare_cell(key, mb["algorithm"], mb["case"], *per_sample))
    judge(cells, config)
    counts = Counter(c.verdict for c in cells)
    reasons = [f"{counts['slower']} cell(s) slower"] if counts["slower"] else []
    notes = []
    if mismatch:
        notes.append(f"compared with --force although {mismatch.split(' (')[0].lower()}")
    summaries = [_run_summary(a, names[0]), _run_summary(b, names[1])]
    if summaries[0]["threads"] != summaries[1]["threads"]:
        notes.append("the runs pinned their thread pools differently (see threads)")
    return {
        "passed": not reasons,
        "reasons": reasons,
        "unit": UNIT,
        "a": summaries[0],
        "b": summaries[1],
        "counts": dict(counts),
        "cells": [asdict(c) for c in cells],
        "only_a": sorted(present_a - present_b),
        "only_b": sorted(present_b - present_a),
        "not_compared": not_compared,
        "timed_in_neither": neither,
        "notes": notes,
    }
