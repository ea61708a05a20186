"""The suite record: everything that decides correctness and cost for one algorithm.

A suite declares once: its arguments (harness.args: shapes, dtype kinds, rules), its options
(harness.options: one typed record), its cases (harness.cases constructors with suite
defaults), its comparator (harness.comparators) and its cost model. The generic error cases
come from the argument declaration; the suite adds only the algorithm-specific ones.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.args import Args
from harness.cases import Case, Cost, ErrorCase, Inputs, Tolerance, with_defaults
from harness.comparators import Comparator
from harness.options import NoOptions, Options

__all__ = ["PROFILES", "Case", "Cost", "ErrorCase", "Inputs", "Suite", "Tolerance"]

#: Benchmark profiles, smallest first. ``smoke`` exists for the harness's own tests.
PROFILES: tuple[str, ...] = ("smoke", "quick", "full")


@dataclass(frozen=True)
class Suite:
    """One algorithm's specification.

    ``oracle`` is the float64 ground truth; it and every implementation take the inputs
    ``args`` declares, positionally, then (when the suite has options) one ``options``
    record. ``make_inputs`` builds those inputs from a case's params, seeded.
    """

    algorithm: str
    family: str
    summary: str
    conventions: str
    args: Args
    make_inputs: Callable[[Case], Inputs]
    oracle: Callable[..., Any]
    compare: Comparator
    cost: Callable[..., Cost]  # (case) or (case, oracle output) -> Cost
    cases: Sequence[Case]
    bench: Mapping[str, Sequence[Case]]
    standard: str
    options: type[Options] = NoOptions
    # algorithm-specific error cases; the generic per-argument ones are generated
    errors: Sequence[ErrorCase] = ()
    # seed, dtype, ...: filled into every case that does not set them
    defaults: Mapping[str, Any] = field(default_factory=dict)
    # the verify case the generated error cases mutate (default: the first regular case)
    error_base: str = ""
    outputs: tuple[str, ...] = ("out",)
    # outputs that may legitimately share memory with an input (views); others must not
    may_alias: tuple[str, ...] = ()
    fuzz: Callable[[], Any] | None = None  # returns a hypothesis strategy of Case
    reference: str = ""
    # symbol -> the size some verify case reaches so blocked/tiled code runs several blocks
    multi_block: Mapping[str, int] = field(default_factory=dict)
    # verify cases whose inputs sit within a few float32 ulps of a threshold (float64 inputs)
    near_threshold: tuple[str, ...] = ()
    # option combinations the options record must refuse (ValueError on construction)
    invalid_options: Sequence[Mapping[str, Any]] = ()
    # forward, backward or forward+backward: a suite per mode, the algorithm named
    # "<base>.<mode>" for modes other than forward (each is verified and timed apart)
    mode: str = "forward"
    # inputs an implementation updates in place (optimizer state, running buffers): exempt
    # from the no-modification rule, compared as outputs, reset before every timed round
    state: tuple[str, ...] = ()
    # inputs stacked along their first axis one entry per step (gradients, learning rates):
    # the harness checks that stopping after half the steps and resuming from the saved
    # state gives the uninterrupted run's state bit for bit
    steps: tuple[str, ...] = ()
    # the backends the specification lists for this algorithm (its table row): the
    # conformance test demands an implementation on each, and on no other
    backends: tuple[str, ...] = (
        "python", "numpy", "numba", "torch_cpu", "torch_cuda", "cupy", "library",
    )  # fmt: skip
    # the comparator for implementations that draw from their library's own generator
    # (registered with own_rng=True); the suite's comparator judges the others
    own_rng_compare: Comparator | None = None
    # case name -> a test on any case's inputs that recognises what makes that case
    # diverge for some library (zero-area boxes for OpenCV): an implementation's expected
    # failure on the named case then also covers fuzz cases whose inputs pass the test
    divergent_inputs: Mapping[str, Callable[[Inputs], bool]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        fill = functools.partial(with_defaults, defaults=self.defaults)
        object.__setattr__(self, "cases", [fill(c) for c in self.cases])
        object.__setattr__(
            self, "bench", {p: [fill(c) for c in cs] for p, cs in self.bench.items()}
        )
        object.__setattr__(self, "errors", [_error_defaults(e, self.defaults) for e in self.errors])
        for c in [*self.cases, *(c for cs in self.bench.values() for c in cs)]:
            self.options.build(c.options)  # an unknown flag or value fails at import
        names = [c.name for c in self.all_cases()]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"{self.algorithm}: duplicate case names {sorted(dupes)}")
        unknown = set(self.divergent_inputs) - set(names)
        if unknown:
            raise ValueError(f"{self.algorithm}: divergent_inputs names no case: {sorted(unknown)}")
        for name in (*self.state, *self.steps):
            if name not in self.args.names:
                raise ValueError(f"{self.algorithm}: {name!r} is not an argument")
        if self.mode != "forward" and not self.algorithm.endswith(f".{self.mode}"):
            raise ValueError(f"{self.algorithm}: a {self.mode} suite is named <base>.{self.mode}")
        bench = {c.name for cases in self.bench.values() for c in cases}
        if self.standard not in bench:
            raise ValueError(
                f"{self.algorithm}: standard case {self.standard!r} is not a bench case"
            )

    @property
    def parameters(self) -> list[str]:
        return self.args.names

    @property
    def base_algorithm(self) -> str:
        """The algorithm a suite belongs to: its name before the first dot (a mode,
        ``softmax.backward`` -> ``softmax``, or a second operation of one algorithm,
        ``topk_gather.gather`` -> ``topk_gather``)."""
        return self.algorithm.partition(".")[0]

    @property
    def cost_needs_output(self) -> bool:
        """The cost model reads the oracle's output (iteration counts, kept boxes)."""
        return len(inspect.signature(self.cost).parameters) >= 2

    def comparator_for(self, own_rng: bool) -> Comparator:
        return self.own_rng_compare if own_rng and self.own_rng_compare else self.compare

    @property
    def takes_options(self) -> bool:
        return bool(self.options.flags())

    def call_args(self, inputs: Sequence[Any], case: Case) -> list[Any]:
        """Positional arguments for the oracle or an implementation: inputs, then options."""
        return [*inputs, self.options.build(case.options)] if self.takes_options else [*inputs]

    def run_oracle(self, inputs: Inputs, case: Case) -> Any:
        return self.oracle(*self.call_args(list(inputs.values()), case))

    def resolve(self, case: Case) -> Case:
        """A case from outside the tables (fuzz, JSON) with the suite's defaults."""
        return with_defaults(case, self.defaults)

    @functools.cached_property
    def error_cases(self) -> list[ErrorCase]:
        """The generated per-argument error cases, then the suite's own."""
        from harness.errors import generate

        base = self.error_base_case()
        return [*generate(self.args, base, self.make_inputs(base)), *self.errors]

    def error_base_case(self) -> Case:
        if self.error_base:
            found = self.find_case(self.error_base)
            if not isinstance(found, Case):
                raise ValueError(f"{self.algorithm}: error_base must name a verify case")
            return found
        return next(c for c in self.cases if c.kind == "regular")

    def inputs_for(self, case: Case) -> Inputs:
        """make_inputs, then the generated mutation an error case names."""
        mutation = case.params.get("mutate")
        if mutation is None:
            return self.make_inputs(case)
        from harness.errors import mutate

        base = Case(case.name, {k: v for k, v in case.params.items() if k != "mutate"},
                    case.options, case.kind)  # fmt: skip
        return mutate(self.args, self.make_inputs(base), mutation)

    def cases_for_profile(self, profile: str) -> list[Case]:
        """The bench cases a profile times. ``smoke``: the smoke cases. ``quick``: the first
        smoke case (small enough for every implementation, size-capped pure-Python loops
        included) and the standard case, so the profile fits its time budget
        (harness.budget). ``full``: every declared case."""
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r} (known: {', '.join(PROFILES)})")
        if profile == "quick":
            standard = self.find_case(self.standard)
            assert isinstance(standard, Case)
            small = list(self.bench.get("smoke", ()))[:1]
            return [c for c in small if c.name != self.standard] + [standard]
        out: list[Case] = []
        for p in PROFILES[: PROFILES.index(profile) + 1]:
            out.extend(self.bench.get(p, ()))
        return out

    def all_cases(self) -> list[Case]:
        bench = [c for cases in self.bench.values() for c in cases]
        return [*self.cases, *(e.as_case() for e in self.errors), *bench]

    def find_case(self, name: str) -> Case | ErrorCase:
        for case in self.cases:
            if case.name == name:
                return case
        errors: Sequence[ErrorCase] = self.error_cases if ":" in name else self.errors
        for err in errors:
            if err.name == name:
                return err
        for cases in self.bench.values():
            for case in cases:
                if case.name == name:
                    return case
        names = [c.name for c in self.cases] + [e.name for e in self.error_cases]
        known = ", ".join(names)
        raise ValueError(f"{self.algorithm} has no case {name!r} (known: {known})")


def _error_defaults(e: ErrorCase, defaults: Mapping[str, Any]) -> ErrorCase:
    missing = {k: v for k, v in defaults.items() if k not in e.params}
    return ErrorCase(e.name, {**missing, **e.params}, e.expected, e.match, e.options)


def oracle_signature(fn: Callable[..., Any]) -> list[str]:
    """The positional parameter names of a callable (the oracle's or an implementation's)."""
    return [
        p.name
        for p in inspect.signature(fn).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
