"""The end of every run: the cells recorded are exactly the cells selected.

A cell can end without a record only through something outside its body (an exception
raised as the cell is announced, a hook of pytest's, a harness bug): the run then records
it as an error, names it, and fails, instead of leaving a shorter table that passes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from harness.watch import record_id, unrun_records

if TYPE_CHECKING:
    from harness.results import Run
    from harness.selection import Cell

NO_RECORD = (
    "no verdict was recorded for this cell: the run went past it without running it "
    "through (something raised outside its body)"
)


def by_implementation(ids: Iterable[str]) -> list[str]:
    """Cell ids grouped, one line per implementation: ``algo/backend/variant: case, case``."""
    cases: dict[str, list[str]] = defaultdict(list)
    for cell_id in ids:
        impl, _, case = cell_id.rpartition("/")
        cases[impl].append(case)
    return [f"{impl}: {', '.join(names)}" for impl, names in cases.items()]


def unrecorded(cells: Sequence[Cell], records: Iterable[dict[str, Any]]) -> list[Cell]:
    """The selected cells that have no record among ``records``."""
    recorded = {record_id(r) for r in records}
    return [c for c in cells if c.id not in recorded]


def strays(cells: Sequence[Cell], records: Iterable[dict[str, Any]]) -> list[str]:
    """Ids of records for cells outside the selection (each once, in order)."""
    selected = {c.id for c in cells}
    return list(dict.fromkeys(record_id(r) for r in records if record_id(r) not in selected))


def close(run: Run, cells: Sequence[Cell], mode: str, fuzz: tuple[int, int] = (0, 0)) -> list[str]:
    """Check that every selected cell is recorded once the run is over.

    A cell without a record (a verdict; benchmarking, a measurement) is recorded now as an
    error. Returns the lines that name what was wrong: empty when the run is complete.
    """
    records = run.measurements if mode == "bench" else run.verdicts
    missing = unrecorded(cells, records)
    have_verdict = {record_id(v) for v in run.verdicts}
    for cell in missing:
        verdict, measurement = unrun_records(cell, "error", NO_RECORD, fuzz)
        if cell.id not in have_verdict:
            run.verdicts.append(verdict)
        if measurement is not None:
            run.measurements.append(measurement)
    lines = []
    if missing:
        lines.append(
            f"{len(missing)} selected cell(s) ended without a result (recorded as errors):"
        )
        lines += ["  " + line for line in by_implementation(c.id for c in missing)]
    extra = strays(cells, records)
    if extra:
        lines.append(f"{len(extra)} cell(s) recorded that were not selected:")
        lines += ["  " + line for line in by_implementation(extra)]
    return lines
