"""The records a suite is made of: cases, error cases, cost models and the suite itself."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Benchmark profiles, smallest first. ``smoke`` exists for the harness's own tests.
PROFILES: tuple[str, ...] = ("smoke", "quick", "full")


@dataclass(frozen=True)
class Case:
    """One input configuration, fully described by JSON-able ``params`` (seed included).

    ``params`` feed the suite's input builder; ``options`` are the policy flags passed to
    every implementation as keyword arguments. The same record rebuilds the same inputs
    bit for bit, which is what makes a printed repro command exact.
    """

    name: str
    params: Mapping[str, Any]
    options: Mapping[str, Any] = field(default_factory=dict)
    kind: str = "regular"  # regular | edge | bench | fuzz

    @property
    def dtype(self) -> str:
        return str(self.params.get("dtype", "float64"))

    @property
    def seed(self) -> int:
        return int(self.params.get("seed", 0))

    def to_json(self) -> str:
        return json.dumps(
            {"params": dict(self.params), "options": dict(self.options)}, sort_keys=True
        )

    @staticmethod
    def from_json(text: str, name: str = "custom") -> Case:
        data = json.loads(text)
        if not isinstance(data, dict) or "params" not in data:
            raise ValueError(
                "a case in JSON needs an object with 'params' (and optionally 'options')"
            )
        return Case(name, data["params"], data.get("options", {}), kind="custom")


@dataclass(frozen=True)
class ErrorCase:
    """Inputs every implementation must reject with ``expected`` and a message matching."""

    name: str
    params: Mapping[str, Any]
    expected: tuple[type[BaseException], ...]
    match: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def as_case(self) -> Case:
        return Case(self.name, self.params, self.options, kind="error")


@dataclass(frozen=True)
class Cost:
    """Work of one call: flops and compulsory bytes (ALGORITHMS.md 1.8), plus items."""

    flops: float
    bytes: float
    items: float = 0.0
    item_unit: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "flops": self.flops,
            "bytes": self.bytes,
            "items": self.items,
            "item_unit": self.item_unit,
        }


@dataclass(frozen=True)
class Tolerance:
    """An (rtol, atol) pair with the reason it is what it is."""

    rtol: float
    atol: float
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"rtol": self.rtol, "atol": self.atol, "reason": self.reason}


Inputs = dict[str, Any]


@dataclass(frozen=True)
class Suite:
    """Everything that decides correctness and cost for one algorithm.

    ``oracle`` is the float64 ground truth and defines the signature every implementation
    mirrors: positional parameters are the inputs ``make_inputs`` returns (in order),
    keyword-only parameters are the policy flags listed in ``options``.
    """

    algorithm: str
    family: str
    summary: str
    conventions: str
    make_inputs: Callable[[Case], Inputs]
    oracle: Callable[..., Any]
    compare: Any  # a harness.compare comparator
    cost: Callable[[Case], Cost]
    cases: Sequence[Case]
    error_cases: Sequence[ErrorCase]
    bench: Mapping[str, Sequence[Case]]
    options: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    outputs: tuple[str, ...] = ("out",)
    fuzz: Callable[[], Any] | None = None  # returns a hypothesis strategy of Case
    reference: str = ""
    # The bench case at the spec's standard size: the one the report's index summarises.
    standard: str = ""

    def __post_init__(self) -> None:
        names = [c.name for c in self.all_cases()]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"{self.algorithm}: duplicate case names {sorted(dupes)}")
        bench = {c.name for cases in self.bench.values() for c in cases}
        if self.standard and self.standard not in bench:
            raise ValueError(
                f"{self.algorithm}: standard case {self.standard!r} is not a bench case"
            )

    @property
    def parameters(self) -> list[str]:
        sig = inspect.signature(self.oracle)
        return [
            p.name
            for p in sig.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]

    @property
    def option_defaults(self) -> dict[str, Any]:
        return {name: values[0] for name, values in self.options.items()}

    def with_defaults(self, case: Case) -> dict[str, Any]:
        unknown = set(case.options) - set(self.options)
        if unknown:
            raise ValueError(
                f"{self.algorithm}: unknown option(s) {sorted(unknown)}; "
                f"known: {sorted(self.options)}"
            )
        return {**self.option_defaults, **case.options}

    def cases_for_profile(self, profile: str) -> list[Case]:
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r} (known: {', '.join(PROFILES)})")
        out: list[Case] = []
        for p in PROFILES[: PROFILES.index(profile) + 1]:
            out.extend(self.bench.get(p, ()))
        return out

    def all_cases(self) -> list[Case]:
        bench = [c for cases in self.bench.values() for c in cases]
        return [*self.cases, *(e.as_case() for e in self.error_cases), *bench]

    def find_case(self, name: str) -> Case | ErrorCase:
        for case in self.cases:
            if case.name == name:
                return case
        for err in self.error_cases:
            if err.name == name:
                return err
        for cases in self.bench.values():
            for case in cases:
                if case.name == name:
                    return case
        known = ", ".join(c.name for c in self.all_cases())
        raise ValueError(f"{self.algorithm} has no case {name!r} (known: {known})")
