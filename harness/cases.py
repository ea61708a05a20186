"""Cases and the records beside them: one input configuration, its cost, its tolerance.

Suites write their tables as data: ``case("random_f32", n=64, m=48)``, ``edge(...)``,
``bench(...)``, ``grid(...)`` and ``error(...)``; the suite's ``defaults`` (seed, dtype)
fill whatever a case leaves out, so no suite needs a private ``_case`` helper.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Inputs = dict[str, Any]

#: Case kinds: verify cases are regular or edge; bench cases are timed; the others are made
#: by the harness (fuzz draws, a user's JSON case, error cases as cells).
CASE_KINDS = ("regular", "edge", "bench", "fuzz", "custom", "error")


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


def case(name: str, *, options: Mapping[str, Any] | None = None, **params: Any) -> Case:
    """A regular verify case: ``params`` feed the suite's input builder."""
    return Case(name, params, dict(options or {}), "regular")


def edge(name: str, *, options: Mapping[str, Any] | None = None, **params: Any) -> Case:
    """An edge case: empty, degenerate, extreme or threshold-adjacent inputs."""
    return Case(name, params, dict(options or {}), "edge")


def bench(name: str, *, options: Mapping[str, Any] | None = None, **params: Any) -> Case:
    """A benchmark case (also verified on its first call)."""
    return Case(name, params, dict(options or {}), "bench")


def grid(
    prefix: str,
    kind: str = "regular",
    *,
    options: Mapping[str, Any] | None = None,
    **axes: Sequence[Any],
) -> list[Case]:
    """The cartesian product of ``axes``, one case each, named ``prefix_<v1>_<v2>...``."""
    names, values = list(axes), [list(v) for v in axes.values()]
    return [
        Case(
            "_".join([prefix, *(str(v) for v in combo)]),
            dict(zip(names, combo, strict=True)),
            dict(options or {}),
            kind,
        )
        for combo in itertools.product(*values)
    ]


def error(
    name: str,
    raises: type[BaseException] | tuple[type[BaseException], ...],
    match: str,
    *,
    options: Mapping[str, Any] | None = None,
    **params: Any,
) -> ErrorCase:
    """An algorithm-specific error case (the generic per-argument ones are generated)."""
    expected = raises if isinstance(raises, tuple) else (raises,)
    return ErrorCase(name, params, expected, match, dict(options or {}))


def with_defaults(c: Case, defaults: Mapping[str, Any]) -> Case:
    """The case with the suite's defaults filled in where it says nothing."""
    missing = {k: v for k, v in defaults.items() if k not in c.params}
    if not missing:
        return c
    return Case(c.name, {**missing, **c.params}, c.options, c.kind)


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


def fuzz_cases(params: Any, options: Any) -> Any:
    """The hypothesis strategy of a suite's fuzz cases: ``params`` (a strategy of parameter
    dicts) and ``options`` (a strategy of option overrides, e.g. ``Opts.strategy()``) drawn
    together into cases named "fuzz"."""
    from hypothesis import strategies as st  # imported by fuzzing only, never by listing

    return st.builds(lambda p, o: Case("fuzz", p, o, "fuzz"), params, options)
