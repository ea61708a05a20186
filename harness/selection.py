"""What a run covers (Selection, and which Shard of it) and its unit of work, one
implementation on one case (Cell)."""

from __future__ import annotations

from dataclasses import dataclass

from harness.registry import Implementation
from harness.shard import Shard
from harness.spec import Case, ErrorCase, Suite


@dataclass(frozen=True)
class Selection:
    """What a run covers; every field has a matching ``--shootout-*`` option."""

    mode: str = "verify"
    algorithms: tuple[str, ...] = ()
    backends: tuple[str, ...] = ()
    variants: tuple[str, ...] = ()
    case: str | None = None
    case_json: str | None = None
    profile: str = "quick"
    fuzz: int = 0
    fuzz_seed: int = 0
    plugins: tuple[str, ...] = ()
    # The gate: only each suite's standard bench case, and no re-verification after round 0.
    standard_only: bool = False
    verify_first: bool = True
    # --shard K/N: only this part of the cells (harness.partition)
    shard: Shard | None = None


@dataclass(frozen=True)
class Cell:
    """One test item: an implementation on a case (or a fuzz session when case is None)."""

    mode: str
    suite: Suite
    impl: Implementation
    case: Case | ErrorCase | None

    @property
    def id(self) -> str:
        tail = self.case.name if self.case is not None else "fuzz"
        return f"{self.impl.algorithm}/{self.impl.backend}/{self.impl.variant}/{tail}"
