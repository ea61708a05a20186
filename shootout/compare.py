"""The ``compare`` command: two saved results files, cell by cell, with the gate's statistics.

Exit 0: no cell is slower. 1: some cell is slower (ratio at or above the threshold, with
evidence; as the gate). 2: bad input, or files from two machines without ``--force``.
"""

from __future__ import annotations

import argparse
from typing import Any

from shootout.output import json_document
from shootout.usage import EXIT_DISAGREE, EXIT_OK

HEADERS = ["cell", "A", "B", "B/A", "95% CI", "q (BH)", "verdict"]
# Slower first: what a reader must see is at the top.
ORDER = {"slower": 0, "ambiguous": 1, "faster": 2, "same": 3}


def cmd_compare(args: argparse.Namespace) -> int:
    from harness.gate.compare import compare_results
    from harness.gate.verdict import load_config
    from harness.results import load_results
    from shootout.gate import THRESHOLDS_FILE

    a, b = load_results(args.a), load_results(args.b)  # one line and exit 2 when bad
    config = load_config(
        args.thresholds or (THRESHOLDS_FILE if THRESHOLDS_FILE.is_file() else None)
    )
    result = compare_results(a, b, config, names=(str(args.a), str(args.b)), force=args.force)
    print(json_document("compare", **result) if args.json else text(result))
    return EXIT_OK if result["passed"] else EXIT_DISAGREE


def _run_line(label: str, run: dict[str, Any]) -> str:
    commit = str(run.get("commit") or "unknown")[:12] + (" (dirty)" if run.get("dirty") else "")
    return (
        f"{label}: {run['file']} (run {run.get('run_id')}, {run.get('created')}, "
        f"commit {commit}, profile {run.get('profile')})"
    )


def text(result: dict[str, Any]) -> str:
    from shootout.present import _table

    status = "PASS" if result["passed"] else "FAIL: " + "; ".join(result["reasons"])
    lines = [_run_line("A", result["a"]), _run_line("B", result["b"]), ""]
    cells = sorted(result["cells"], key=lambda c: (ORDER.get(c["verdict"], 9), c["key"]))
    if cells:
        from shootout.gate import cell_row

        lines += [_table([cell_row(c) for c in cells], HEADERS), ""]
        counts = ", ".join(f"{n} {v}" for v, n in sorted(result["counts"].items()))
        lines.append(f"{len(cells)} cells in both files: {counts}")
    else:
        lines.append("no cell was timed in both files")
    for side, label in (("only_a", "only in A"), ("only_b", "only in B")):
        if result[side]:
            lines.append(f"{label} ({len(result[side])}): {', '.join(result[side])}")
    for key, why in result["not_compared"].items():
        lines.append(f"not compared: {key}: {why}")
    if result["timed_in_neither"]:
        lines.append(f"{result['timed_in_neither']} cell(s) timed in neither file (skipped)")
    lines += [f"note: {n}" for n in result["notes"]]
    lines.append(
        "note: one run per file, so the samples of one process are the units: the interval "
        "shows the noise within a run, not between runs (use `shootout gate` to decide)"
    )
    lines += ["", status]
    return "\n".join(lines)
