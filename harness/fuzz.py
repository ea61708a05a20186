"""Property-based verification: random cases from a suite's strategy, failures shrunk."""

from __future__ import annotations

from dataclasses import dataclass

from harness.registry import Implementation
from harness.spec import Case, Suite
from harness.verify import Verdict, verify


@dataclass(frozen=True)
class FuzzOutcome:
    """How a fuzz session of one implementation ended; ``verdict`` is the shrunk failure."""

    examples: int
    verdict: Verdict | None
    case: Case | None

    @property
    def ok(self) -> bool:
        return self.verdict is None


class _Disagreement(AssertionError):
    pass


def fuzz(suite: Suite, impl: Implementation, examples: int, seed: int = 0) -> FuzzOutcome:
    """Draw ``examples`` cases; on disagreement, hypothesis shrinks to a minimal case.

    Hypothesis replays the minimal failing example last, so the last failure recorded here
    is the shrunk one; its Case rebuilds the inputs exactly (the repro uses --case-json).
    """
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    if suite.fuzz is None:
        raise ValueError(f"{suite.algorithm} has no fuzz strategy")
    last: dict[str, object] = {}
    count = [0]

    @hypothesis_seed(seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        print_blob=False,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )
    @given(suite.fuzz())
    def check(drawn: Case) -> None:
        case = suite.resolve(drawn)
        count[0] += 1
        verdict = verify(suite, impl, case)
        if verdict.status in ("fail", "error"):
            last["verdict"], last["case"] = verdict, case
            raise _Disagreement(verdict.detail)

    try:
        check()
    except Exception:  # _Disagreement, or hypothesis's FlakyFailure wrapping it
        if "verdict" not in last:
            raise
        verdict, case = last["verdict"], last["case"]
        assert isinstance(verdict, Verdict) and isinstance(case, Case)
        return FuzzOutcome(count[0], verdict, case)
    return FuzzOutcome(count[0], None, None)
