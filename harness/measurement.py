"""The record of one benchmarked cell (Measurement), as a results file stores it.

Fields are in the order of the results table (reports.table takes its columns from
here); ``as_dict`` is the JSON object of the file's ``measurements`` list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Measurement:
    """One implementation on one case: the cell, its outcome, its timings and rates.

    A cell that was not timed (skipped, failed, lost to a crash) keeps the empty timing
    fields: no samples, and None for every statistic and rate.
    """

    algorithm: str
    backend: str
    variant: str
    kind: str = ""
    case: str
    case_kind: str = ""
    standard: bool = False  # the suite's standard case: the one the index page summarises
    device: str = ""  # whose ceilings bound it: "cpu" or "cuda" (harness.backends)
    dtype: str = ""
    status: str = "ok"  # ok (timed), skip, fail or error
    reason: str = ""  # why not timed
    verdict: str | None = None  # the first call's verdict
    first_call_s: float | None = None  # timed apart: JIT compile, CUDA warm-up
    median_s: float | None = None
    iqr_s: float | None = None
    mean_s: float | None = None
    min_s: float | None = None
    rounds: int = 0  # samples taken
    # the suite's cost model for this case (harness.spec.Cost)
    flops: float = 0.0
    bytes: float = 0.0
    items: float = 0.0
    item_unit: str = ""
    gflops: float | None = None
    gbps: float | None = None
    items_per_s: float | None = None
    noisy: bool | None = None  # IQR/median above harness.bench.NOISE_LIMIT
    # Why this timing is not trusted ("" when it is): faster than the machine allows, a
    # cached result, threads changed or left running (harness.hygiene). A flagged timing
    # is kept but left out of rankings and budgets.
    flagged: str = ""
    warning: str = ""  # what the cell changed or left behind in the worker (harness.hygiene)
    peak_rss_mb: float | None = None  # resident memory the cell added at its peak
    device_peak_mb: float | None = None  # GPU memory torch allocated at the cell's peak
    fresh_s: float | None = None  # fastest call on fresh copies of the inputs (caching check)
    params: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    threads: Mapping[str, Any] = field(default_factory=dict)  # pool sizes read back in the cell
    samples: tuple[float, ...] = ()  # seconds per call, one per round
    iterations: int = 0  # calls per round
    stddev_s: float | None = None

    @property
    def cell_id(self) -> str:
        """The id of its cell (harness.selection.Cell.id)."""
        return f"{self.algorithm}/{self.backend}/{self.variant}/{self.case}"

    def as_dict(self) -> dict[str, Any]:
        """The JSON-ready object a results file holds."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out.update(params=dict(self.params), options=dict(self.options), threads=dict(self.threads))
        out["samples"] = list(self.samples)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Measurement:
        """The record of a results file's object; keys it does not know are ignored."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "samples" in values:
            values["samples"] = tuple(values["samples"] or ())
        return cls(**values)
