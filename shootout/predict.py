"""The predicted time of a ``shootout bench`` run, printed before its cells start."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.budget import Timing
    from harness.pytest_plugin import State

#: Profiles whose cost is predicted: the large sizes of ``full`` would have their iterative
#: oracles run just to count iterations.
PREDICTED = ("smoke", "quick")


def predict_run(state: State, profile: str, timing: Timing, announce: bool) -> dict[str, Any]:
    """The run's predicted seconds (in all and per algorithm) from the cost model, the rates
    of harness.budget.REFERENCE scaled by the ceilings just measured and the profile's
    timing rule; printed to stderr when ``announce``. JSON-ready."""
    from harness.budget import QUICK_ALGORITHM_S, REFERENCE, duration_text, predict

    if profile not in PREDICTED:
        return {"profile": profile, "seconds": None, "note": "the full profile is not predicted"}
    prediction = predict(state.cells(), REFERENCE.scaled(state.run.ceilings), timing)
    over = {a: s for a, s in prediction.by_algorithm.items() if s > QUICK_ALGORITHM_S}
    if announce:
        algorithms = len(prediction.by_algorithm)
        line = (
            f"predicted: {duration_text(prediction.seconds)} for {prediction.cells} cells of "
            f"{algorithms} algorithm{'s' * (algorithms != 1)} ({profile} profile; cost model "
            "at this machine's ceilings)"
        )
        if over and profile == "quick":
            slowest = sorted(over.items(), key=lambda kv: -kv[1])[:5]
            listed = ", ".join(f"{a} {duration_text(s)}" for a, s in slowest)
            line += f"; over the {QUICK_ALGORITHM_S:g} s per algorithm budget: {listed}"
        print(line, file=sys.stderr)
    return {
        "profile": profile,
        **prediction.as_dict(),
        "budget_per_algorithm_s": QUICK_ALGORITHM_S,
        "over_budget": sorted(over) if profile == "quick" else [],
    }
