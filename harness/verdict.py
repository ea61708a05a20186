"""The Verdict record: the checked outcome of one cell, its repro command, and the verdicts
of cells that never reached a comparison (skipped, crashed, a whole fuzz session)."""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass, field
from typing import Any

from harness.cases import Case, ErrorCase
from harness.registry import Implementation

STATUSES = ("pass", "xfail", "skip", "fail", "error")
OK_STATUSES = ("pass", "xfail", "skip")


@dataclass(frozen=True)
class Verdict:
    """The checked outcome of one (implementation, case) cell, with the measured error."""

    algorithm: str
    backend: str
    variant: str
    kind: str
    case: str
    case_kind: str
    dtype: str
    status: str
    detail: str = ""
    mismatches: int = 0
    total: int = 0
    max_abs: float = 0.0
    max_rel: float = 0.0
    worst_index: tuple[int, ...] | None = None
    error_ratio: float = 0.0
    rtol: float = 0.0
    atol: float = 0.0
    tolerance_reason: str = ""
    note: str = ""
    repro: str = ""
    warning: str = ""  # what the cell changed or left behind in the worker (harness.hygiene)
    peak_rss_mb: float | None = None  # resident memory the cell added at its peak
    device_peak_mb: float | None = None  # GPU memory torch allocated at the cell's peak
    params: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["worst_index"] = list(self.worst_index) if self.worst_index is not None else None
        return d


def repro_command(impl: Implementation, case: Case) -> str:
    """The one command that re-runs exactly this cell."""
    parts = [
        "shootout",
        "verify",
        "--algorithm",
        impl.algorithm,
        "--backend",
        impl.backend,
        "--variant",
        impl.variant,
    ]
    if case.kind in ("fuzz", "custom"):
        parts += ["--case-json", case.to_json()]
    else:
        parts += ["--case", case.name]
    if impl.origin.startswith("plugin:"):
        parts += ["--plugin", impl.origin.removeprefix("plugin:")]
    return shlex.join(parts)


def cell_identity(impl: Implementation, case: Case) -> dict[str, Any]:
    """The fields that name a cell, shared by its Verdict and its Measurement."""
    return dict(
        algorithm=impl.algorithm,
        backend=impl.backend,
        variant=impl.variant,
        kind=impl.kind,
        case=case.name,
        case_kind=case.kind,
        dtype=case.dtype,
        params=dict(case.params),
        options=dict(case.options),
    )


def cell_fields(impl: Implementation, case: Case) -> dict[str, Any]:
    return {**cell_identity(impl, case), "repro": repro_command(impl, case)}


def fuzz_session_verdict(impl: Implementation, status: str, **extra: Any) -> Verdict:
    """The verdict of a whole fuzz session (its cases are random, so it has no case)."""
    return Verdict(
        impl.algorithm, impl.backend, impl.variant, impl.kind, "fuzz", "fuzz", "mixed", status,
        **extra,
    )  # fmt: skip


def unrun_verdict(
    impl: Implementation, case: Case | ErrorCase, status: str, detail: str
) -> Verdict:
    """The verdict of a cell that never reached a comparison: skipped before it ran, or
    lost to a crash or a timeout (recorded by the supervisor's next worker)."""
    case = case.as_case() if isinstance(case, ErrorCase) else case
    return Verdict(status=status, detail=detail, **cell_fields(impl, case))


def apply_expected_failure(impl: Implementation, v: Verdict) -> Verdict:
    reason = impl.expected_failures.get(v.case)
    if reason is None:
        return v
    if v.status in ("fail", "error"):
        return Verdict(
            **{
                **v.__dict__,
                "status": "xfail",
                "note": f"known divergence: {reason} (was: {v.detail})",
            }
        )
    if v.status == "pass":
        return Verdict(
            **{
                **v.__dict__,
                "status": "error",
                "detail": f"unexpected pass: the expected failure {reason!r} is "
                "stale; remove it from expected_failures",
            }
        )
    return v
