"""The partition behind ``--shard K/N``: N deterministic, cost-balanced parts of a run's cells.

The unit of a partition is an algorithm (a suite: ``softmax.backward`` is its own unit), never
a single cell: what the report computes within one run stays within one shard (speedups
against the library, the library's own error beside a tolerance), the budget predictions
(harness.watch) still see the same implementation's smaller cases, and a case's inputs
and oracle output are built once per shard. Units are dealt largest first, each to the shard
with the least predicted cost so far (ties: the lower shard), which keeps the most loaded
shard within one unit of the ideal: ``max load <= total / N + largest unit``.

Costs are predicted from the suite's cost model on a nominal machine: fixed rates and
overheads below, the same on every machine and independent of what is installed or
measured here. That is what makes the partition deterministic across the jobs of a CI
matrix: every job computes the same N parts from the same cells, so their union is the
whole run and no cell runs twice. The rates only need to rank cells, not to be right.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from harness.shard import Shard, ShardError

if TYPE_CHECKING:
    from harness.cases import Cost
    from harness.selection import Cell
    from harness.spec import Case, Suite


# The nominal machine (seconds are relative; only their ratios decide the partition).
NOMINAL_FLOPS_PER_S = 2e9  # compiled code: NumPy, Numba, torch, libraries
NOMINAL_BYTES_PER_S = 5e9
INTERPRETED_SLOWDOWN = 200.0  # pure-Python loops against compiled code
CALL_OVERHEAD_S = 5e-5  # converting inputs, dispatch, reading the output back
CELL_OVERHEAD_S = 5e-3  # a test item: setup, comparison, recording
FUZZ_EXAMPLE_S = 0.02  # one drawn case of a fuzz session, oracle included
# A bench cell as verify_bench times it by default (quick profile): these are fixed here,
# not read from the command line, so that every job partitions alike.
BENCH_MIN_ROUNDS, BENCH_MAX_TIME_S = 5, 0.5
CELL_CAP_S = 60.0  # the default --cell-budget: a slower cell is skipped or cut short


# ---- predicted cost -----------------------------------------------------------------------


def _static_cost(suite: Suite, case: Case) -> Cost:
    """The suite's cost model without running anything when it can: a model that reads the
    oracle's output (iterations, kept boxes) gets none when its second parameter has a
    default (it then assumes the worst, e.g. max_iter); only a model that demands the
    output makes the oracle run, and its output is cached for the run anyway."""
    if _demands_output(suite.cost):
        from harness.prepare import case_cost

        return case_cost(suite, case)
    return suite.cost(case)


@functools.lru_cache(maxsize=256)
def _demands_output(model: Callable[..., Cost]) -> bool:
    parameters = list(inspect.signature(model).parameters.values())
    return len(parameters) >= 2 and parameters[1].default is inspect.Parameter.empty


def call_seconds(cost: Cost, interpreted: bool = False) -> float:
    """One call on the nominal machine: the slower of its flops and its bytes, plus overhead."""
    seconds = max(cost.flops / NOMINAL_FLOPS_PER_S, cost.bytes / NOMINAL_BYTES_PER_S)
    return CALL_OVERHEAD_S + seconds * (INTERPRETED_SLOWDOWN if interpreted else 1.0)


def cell_cost(cell: Cell, fuzz_examples: int = 0, cost: Cost | None = None) -> float:
    """Predicted seconds of one cell; it depends on the cell (and ``--fuzz N`` for a fuzz
    session) alone, nothing measured or installed here (see the module doc). ``cost``:
    the case's cost model, when the caller has it already."""
    from harness.backends import is_interpreted
    from harness.spec import ErrorCase
    from harness.watch import cell_seconds

    if cell.case is None:  # a fuzz session: its examples are small drawn cases
        return CELL_OVERHEAD_S + FUZZ_EXAMPLE_S * fuzz_examples
    if isinstance(cell.case, ErrorCase):  # rejected before any work
        return CELL_OVERHEAD_S + CALL_OVERHEAD_S
    cost = cost or _static_cost(cell.suite, cell.case)
    if cell.impl.max_flops is not None and cost.flops > cell.impl.max_flops:
        return CELL_OVERHEAD_S  # over the declared size cap: skipped without running
    call = call_seconds(cost, is_interpreted(cell.impl.backend))
    seconds = cell_seconds(call, cell.mode, BENCH_MIN_ROUNDS, BENCH_MAX_TIME_S)
    return CELL_OVERHEAD_S + min(seconds, CELL_CAP_S)


def unit_of(cell: Cell) -> str:
    """The partition's unit: the cell's suite (an algorithm, or one of its modes)."""
    return cell.suite.algorithm


def unit_costs(cells: Iterable[Cell], fuzz_examples: int = 0) -> dict[str, float]:
    """Predicted seconds per unit: its cells, plus each distinct case's float64 oracle once."""
    from harness.spec import ErrorCase

    costs: dict[str, float] = {}
    models: dict[tuple[str, str], Cost] = {}  # each case's cost model, computed once
    for cell in cells:
        unit, case, model = unit_of(cell), cell.case, None
        total = costs.get(unit, 0.0)
        if case is not None and not isinstance(case, ErrorCase):
            model = models.get((unit, case.name))
            if model is None:
                model = models[unit, case.name] = _static_cost(cell.suite, case)
                total += call_seconds(model)  # the oracle, once per case
        costs[unit] = total + cell_cost(cell, fuzz_examples, model)
    # Rounded, so that a last-bit difference between two machines cannot reorder units.
    return {unit: float(f"{seconds:.6g}") for unit, seconds in costs.items()}


# ---- the partition ------------------------------------------------------------------------


def partition(costs: Mapping[str, float], count: int) -> list[list[str]]:
    """``count`` lists of units: largest first, each to the least loaded part so far
    (ties to the lower part), so the largest load is at most total / count + max unit."""
    if count < 1:
        raise ShardError("a partition needs at least one part")
    parts: list[list[str]] = [[] for _ in range(count)]
    loads = [0.0] * count
    for unit in sorted(costs, key=lambda u: (-costs[u], u)):
        target = min(range(count), key=lambda k: (loads[k], k))
        parts[target].append(unit)
        loads[target] += costs[unit]
    return parts


def loads(costs: Mapping[str, float], parts: Sequence[Sequence[str]]) -> list[float]:
    return [math.fsum(costs[u] for u in part) for part in parts]


def shard_cells(cells: Sequence[Cell], shard: Shard, fuzz_examples: int = 0) -> list[Cell]:
    """The cells of ``shard``, in their original order."""
    costs = unit_costs(cells, fuzz_examples)
    mine = set(partition(costs, shard.count)[shard.index - 1])
    return [c for c in cells if unit_of(c) in mine]


def describe(cells: Sequence[Cell], shard: Shard, fuzz_examples: int = 0) -> str:
    """One line for the log: what this shard runs, out of what."""
    costs = unit_costs(cells, fuzz_examples)
    parts = partition(costs, shard.count)
    mine = parts[shard.index - 1]
    count = sum(1 for c in cells if unit_of(c) in set(mine))
    share = loads(costs, parts)[shard.index - 1] / (math.fsum(costs.values()) or 1.0)
    if not mine:
        return (
            f"shard {shard}: no cells (the selection has {len(costs)} algorithm(s), "
            f"fewer than {shard.count} shards)"
        )
    return (
        f"shard {shard}: {count} of {len(cells)} cells, {len(mine)} of {len(costs)} "
        f"algorithm(s), {share:.0%} of the predicted cost: {', '.join(sorted(mine))}"
    )
