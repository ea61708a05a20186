"""Time budgets: how long a profile times a cell, and what a run is predicted to cost.

The project must stay fast as it grows to ~94 algorithms on a 2-core machine, so every
algorithm has a share of each run, in seconds of one core:

* ``QUICK_ALGORITHM_S`` (6 s) of ``shootout bench --profile quick``: 94 algorithms x 6 s
  fit in 10 minutes. It covers every mode of the algorithm, every implementation that runs
  here, its inputs and oracle, first calls and compiles included.
* ``TESTS_ALGORITHM_S`` (8 s) of wall time of ``nox -s tests`` (2 workers, so 16 s of test
  time): the verify matrix (every implementation on every verify and error case), the
  algorithm's own test file and its conformance tests. Numba's compiles (one per argument
  signature) and the harness's work per cell weigh most there, which no cost model sees:
  ``harness.durations`` measures the figure and prints the slowest algorithms.
* One verify case may cost at most ``VERIFY_CASE_FLOPS`` flops and ``VERIFY_CASE_BYTES``
  bytes (the suite's cost model): 0.15 s for one compiled implementation and 0.6 s for the
  inputs and the oracle at the reference rates below, so the arithmetic of even the largest
  case stays a small part of the 16 s. The matrix verifies on the smallest sizes that still
  discriminate; verification at benchmark sizes belongs to ``shootout bench``.

Predictions use the cost model (flops and bytes of each case), the rates of a machine
(``Rates``) and the profile's timing rule (``Timing``): nothing is run but the cost model,
which for an iterative algorithm runs the oracle to count its iterations.
``tests/test_conformance.py`` checks every suite against the budgets with ``REFERENCE``,
fixed rates of a 2-core x86-64 CI machine at one thread, so its verdict does not depend on
the machine that runs it; ``shootout bench`` prints its prediction with the rates scaled by
the ceilings it measured (``Rates.scaled``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from harness.backends import BACKENDS, Backend, device_of

if TYPE_CHECKING:
    from harness.cases import Case, Cost
    from harness.registry import Implementation
    from harness.selection import Cell

QUICK_ALGORITHM_S = 6.0
TESTS_ALGORITHM_S = 8.0
VERIFY_CASE_FLOPS = 3e8
VERIFY_CASE_BYTES = 3e8
#: The quick profile times the standard case and at most one smaller size.
QUICK_SIZES = 2

# pytest-benchmark calls a target once to calibrate its timer, once to warm that up and once
# as the warm-up round before its rounds (shootout/verify_bench.py: warmup on, 1 iteration);
# after the rounds, harness.bench checks for cached results with pairs of calls (three pairs
# of calls this short, which costs next to nothing; a slow call gets one call on fresh inputs).
BENCH_EXTRA_CALLS = 5
#: A stateful cell without a round budget is timed round by round (a reset before each,
#: outside the timing): about this many seconds of rounds, at least 5 and at most 50.
STATEFUL_SECONDS = 0.5
MAX_STATEFUL_ROUNDS = 50


@dataclass(frozen=True)
class Timing:
    """How long a profile times one cell (pytest-benchmark does the timing).

    A call is *fast* when pytest-benchmark's own loop (calibration and warm-up calls, then
    at least ``min_rounds`` rounds and about ``max_time`` seconds of them) stays within
    ``round_budget``; it is then timed that way. A *slow* call gets one warm call (which
    also tells a slow call from a first call that compiled), then ``slow_rounds`` to
    ``min_rounds`` rounds of one call, as many as ``round_budget`` holds. Without a round
    budget every call is fast (the full profile, the gate).
    """

    max_time: float
    min_rounds: int = 5
    round_budget: float | None = None
    slow_rounds: int = 3

    def with_max_time(self, max_time: float | None) -> Timing:
        return self if max_time is None else replace(self, max_time=max_time)

    def fast_seconds(self, per_call: float) -> float:
        """pytest-benchmark's time on a stateless cell after the first call."""
        return BENCH_EXTRA_CALLS * per_call + max(self.max_time, self.min_rounds * per_call)

    def is_slow(self, per_call: float) -> bool:
        budget = self.round_budget
        return budget is not None and self.fast_seconds(per_call) > budget

    def rounds(self, per_call: float, stateful: bool) -> int:
        """Rounds of one call each for a slow call, or any stateful call."""
        budget, t = self.round_budget, max(per_call, 1e-9)
        if budget is None:  # stateful without a budget: about STATEFUL_SECONDS of rounds
            return int(min(MAX_STATEFUL_ROUNDS, max(self.min_rounds, STATEFUL_SECONDS / t)))
        most = MAX_STATEFUL_ROUNDS if stateful else self.min_rounds
        return max(self.slow_rounds, min(most, math.floor(budget / t)))

    def after_first_call(
        self, per_call: float, first_call: float, stateful: bool, compiles: bool = True
    ) -> float:
        """Seconds a bench cell spends after its (verified) first call, whose time was
        ``first_call`` (a compile included where the backend ``compiles``): the warm call
        that decides, then the rounds; a slow call's caching check is one more call (a fast
        call's is in ``fast_seconds``)."""
        probe = per_call if compiles and self.is_slow(first_call) else 0.0
        if not stateful and not self.is_slow(per_call):
            return probe + self.fast_seconds(per_call)
        return probe + (self.rounds(per_call, stateful) + 1) * per_call


#: The timing rule of each benchmark profile (``--max-time`` overrides ``max_time``).
TIMINGS: dict[str, Timing] = {
    "smoke": Timing(max_time=0.1, round_budget=0.5),
    "quick": Timing(max_time=0.1, round_budget=0.5),
    "full": Timing(max_time=2.0),
}


@dataclass(frozen=True)
class Rates:
    """What a prediction assumes of a machine, at one thread.

    Compiled code (NumPy, Numba, torch, libraries) runs at ``gflops`` or ``gbps``, whichever
    is slower for the call's cost; pure-Python loops at ``python_gflops``; making a case's
    inputs and running its float64 oracle (written for clarity) at ``oracle_*``. Every call
    costs ``call_s`` more, every cell ``cell_s`` of harness work (the pytest item,
    conversions, the comparison), and each new argument signature of a compiling backend
    (Numba) ``jit_s``. ``ceilings`` are the machine ceilings these rates go with.
    """

    gflops: float
    gbps: float
    python_gflops: float
    oracle_gflops: float
    oracle_gbps: float
    call_s: float
    cell_s: float
    jit_s: float
    ceilings: Mapping[str, float] = field(default_factory=dict)

    def scaled(self, ceilings: Mapping[str, Any]) -> Rates:
        """These rates on a machine with the measured ``ceilings`` (harness.ceilings): the
        flop rates scale with float64 matmul, the byte rates with memory bandwidth. Python,
        compiles and fixed costs follow the clock, which no ceiling measures: unchanged."""
        cpu = ceilings.get("cpu") or {}
        if cpu.get("unavailable") or not self.ceilings:
            return self
        flops = float((cpu.get("matmul_gflops") or {}).get("float64") or 0.0)
        memory = float(cpu.get("memory_gbps") or 0.0)
        f = flops / self.ceilings["matmul_gflops_float64"] if flops > 0 else 1.0
        b = memory / self.ceilings["memory_gbps"] if memory > 0 else 1.0
        return replace(
            self,
            gflops=self.gflops * f,
            oracle_gflops=self.oracle_gflops * f,
            gbps=self.gbps * b,
            oracle_gbps=self.oracle_gbps * b,
        )


#: A 2-core x86-64 CI machine (AVX2) at one thread. The rates are fitted to the CPU time of
#: one call of every implementation of the first 15 algorithms at their quick-profile sizes
#: (single calls, CPU seconds, so the load of a shared machine does not enter): the model is
#: unbiased over those calls, and within 6x above and 17x below for 80 % of them (GEMM-shaped
#: code runs faster than it says, irregular code such as assignment, NMS or a random-number
#: generator slower). Pure-Python loops ran at 2-27 MFLOP/s, inputs and oracle at about the
#: rates below, and a first Numba call compiled for 0.1-6 s, 1-1.5 s typically.
REFERENCE = Rates(
    gflops=2.0,
    gbps=4.0,
    python_gflops=0.005,
    oracle_gflops=0.5,
    oracle_gbps=0.5,
    call_s=1e-4,
    cell_s=0.02,
    jit_s=1.5,
    ceilings={"matmul_gflops_float64": 30.0, "memory_gbps": 10.0},
)


def call_seconds(impl: Implementation, cost: Cost, rates: Rates) -> float:
    """One call of ``impl`` on a case of this cost."""
    if _backend(impl).interpreted:
        return rates.call_s + cost.flops / (rates.python_gflops * 1e9)
    return rates.call_s + max(cost.flops / (rates.gflops * 1e9), cost.bytes / (rates.gbps * 1e9))


def setup_seconds(cost: Cost, rates: Rates) -> float:
    """Making a case's inputs and running its oracle, once per case."""
    return max(cost.flops / (rates.oracle_gflops * 1e9), cost.bytes / (rates.oracle_gbps * 1e9))


@dataclass
class Prediction:
    """Predicted seconds of a run: in all, per algorithm (modes count as the algorithm),
    and the cells that run (skips cost nothing)."""

    seconds: float = 0.0
    by_algorithm: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    cells: int = 0

    def add(self, algorithm: str, seconds: float) -> None:
        self.seconds += seconds
        self.by_algorithm[algorithm] += seconds

    def as_dict(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 3),
            "cells": self.cells,
            "by_algorithm": {k: round(v, 3) for k, v in sorted(self.by_algorithm.items())},
        }


def runs_here(impl: Implementation) -> bool:
    """Whether an implementation runs on this machine (its backend, its modules)."""
    return impl.unavailable_reason() is None


def runs_on_cpu(impl: Implementation) -> bool:
    """Whether an implementation runs on a CPU-only machine with every package installed:
    the reference machine's answer, whatever this machine has (an implementation whose
    module could not be imported here counts by its backend token)."""
    return device_of(impl.backend) == "cpu" and device_of(impl.arrays) == "cpu"


def first_call_compiles(impl: Implementation) -> bool:
    """Whether a first call may be slower than the next for a reason of its own: a JIT
    compile (Numba), a device's lazy start or kernel compile (CUDA, CuPy). Elsewhere the
    first call times like the others, and the quick profile takes it as the warm call."""
    return _backend(impl).jit or device_of(impl.arrays) != "cpu" or device_of(impl.backend) != "cpu"


def _backend(impl: Implementation) -> Backend:
    """The array world that runs the implementation (by its token when it could not be
    imported here: such a placeholder is fed NumPy arrays)."""
    return BACKENDS.get(impl.backend) or BACKENDS[impl.arrays]


def _runs(cell: Cell, case: Case, cost: Cost, available: Callable[[Implementation], bool]) -> bool:
    """Whether the cell would call its implementation (and not skip without calling it)."""
    from harness.prepare import unsupported_options

    impl = cell.impl
    if not available(impl):
        return False
    if impl.max_flops is not None and cost.flops > impl.max_flops:
        return False
    return not unsupported_options(cell.suite, impl, case)


def predict(
    cells: Iterable[Cell],
    rates: Rates,
    timing: Timing | None = None,
    available: Callable[[Implementation], bool] = runs_here,
) -> Prediction:
    """Predicted seconds of running ``cells``: benchmarked with ``timing`` (bench cells) or
    verified once (verify cells; error cases cost their harness work only). Cells of an
    implementation that is not ``available`` are skipped, at no cost."""
    from harness.prepare import case_cost
    from harness.spec import ErrorCase

    out = Prediction()
    set_up: set[tuple[str, str]] = set()
    compiled: set[tuple[str, str]] = set()
    for cell in cells:
        algorithm, case = cell.suite.base_algorithm, cell.case
        if case is None:  # a fuzz session: not predicted
            continue
        if isinstance(case, ErrorCase):
            out.add(algorithm, rates.cell_s)
            continue
        cost = case_cost(cell.suite, case)
        if (cell.suite.algorithm, case.name) not in set_up:
            set_up.add((cell.suite.algorithm, case.name))
            out.add(algorithm, setup_seconds(cost, rates))
        if not _runs(cell, case, cost, available):
            continue
        out.cells += 1
        per_call = call_seconds(cell.impl, cost, rates)
        first = per_call
        if _backend(cell.impl).jit and (cell.impl.key, case.dtype) not in compiled:
            compiled.add((cell.impl.key, case.dtype))
            first += rates.jit_s
        seconds = rates.cell_s + first
        if cell.mode == "bench":
            timing = timing or TIMINGS["quick"]
            compiles = first_call_compiles(cell.impl)
            seconds += timing.after_first_call(per_call, first, bool(cell.suite.state), compiles)
        out.add(algorithm, seconds)
    return out


def duration_text(seconds: float) -> str:
    """``42 s``, ``3 min 20 s``, ``1 h 05 min``."""
    s = round(seconds)
    if s < 60:
        return f"{seconds:.0f} s" if seconds >= 1 else f"{seconds:.1f} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"
