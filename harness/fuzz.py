"""Property-based verification: random cases from a suite's strategy, failures shrunk."""

from __future__ import annotations

from dataclasses import dataclass

from harness.prepare import case_inputs
from harness.registry import Implementation
from harness.spec import Case, Suite
from harness.verify import Verdict, verify


def known_divergence(suite: Suite, impl: Implementation, case: Case) -> str | None:
    """The documented reason when a failing case's inputs show what makes one of the
    implementation's expected-failure cases diverge (``Suite.divergent_inputs``)."""
    inputs = case_inputs(suite, case)
    for name, reason in impl.expected_failures.items():
        recognise = suite.divergent_inputs.get(name)
        if recognise is not None and recognise(inputs):
            return reason
    return None


@dataclass(frozen=True)
class FuzzOutcome:
    """How a fuzz session of one implementation ended; ``verdict`` is the shrunk failure.
    ``known`` counts drawn cases that failed only where the implementation documents a
    divergence (its expected failure on a case whose inputs the suite recognises)."""

    examples: int
    verdict: Verdict | None
    case: Case | None
    known: int = 0

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
    known = [0]

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
            if known_divergence(suite, impl, case):
                known[0] += 1  # documented: like an expected failure on a fixed case
                return
            last["verdict"], last["case"] = verdict, case
            raise _Disagreement(verdict.detail)

    try:
        check()
    except Exception:  # _Disagreement, or hypothesis's FlakyFailure wrapping it
        if "verdict" not in last:
            raise
        verdict, case = last["verdict"], last["case"]
        assert isinstance(verdict, Verdict) and isinstance(case, Case)
        return FuzzOutcome(count[0], verdict, case, known[0])
    return FuzzOutcome(count[0], None, None, known[0])
