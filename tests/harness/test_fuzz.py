"""Tests of harness.fuzz: a planted bug is found and shrunk; a correct version survives."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any

import pytest

from harness.fuzz import fuzz
from harness.registry import Implementation
from harness.spec import Case, Suite

MakeImpl = Callable[..., Implementation]


def wrong_from_size_3(x: Any, factor: float, opts: Any) -> Any:
    out = x * factor
    if out.size >= 3:
        out[-1] += 1.0
    return out


def test_planted_bug_is_found_and_shrunk_to_size_3(suite: Suite, make_impl: MakeImpl) -> None:
    outcome = fuzz(suite, make_impl(wrong_from_size_3), examples=60, seed=1)
    assert not outcome.ok
    assert isinstance(outcome.case, Case)
    assert outcome.case.kind == "fuzz"
    assert outcome.case.params["n"] == 3
    assert outcome.examples > 1
    verdict = outcome.verdict
    assert verdict is not None
    assert verdict.status == "fail"
    assert verdict.params == outcome.case.params
    assert verdict.detail.startswith("1/3 elements differ; first at (2,)")
    parts = shlex.split(verdict.repro)
    assert Case.from_json(parts[parts.index("--case-json") + 1]).params == outcome.case.params


def test_correct_implementation_survives(suite: Suite, make_impl: MakeImpl) -> None:
    outcome = fuzz(suite, make_impl(), examples=25, seed=2)
    assert outcome.ok
    assert outcome.verdict is None and outcome.case is None
    assert outcome.examples > 0


def test_suite_without_strategy_is_refused(
    make_suite: Callable[..., Suite], make_impl: MakeImpl
) -> None:
    with pytest.raises(ValueError, match="toy_scale has no fuzz strategy"):
        fuzz(make_suite(fuzz=None), make_impl(), examples=5)


def test_a_documented_divergence_is_honoured_only_where_its_inputs_show(
    make_suite: Callable[..., Suite], make_impl: MakeImpl
) -> None:
    """The implementation's expected failure on a named case also covers fuzz cases whose
    inputs the suite recognises as that divergence, and no others."""
    from dataclasses import replace

    suite = make_suite()
    named = suite.cases[0].name
    wrong = make_impl(wrong_from_size_3)
    documented = replace(wrong, expected_failures={named: "the library differs from size 3"})
    big = replace(suite, divergent_inputs={named: lambda inputs: inputs["x"].size >= 3})
    outcome = fuzz(big, documented, examples=40, seed=1)
    assert outcome.ok and outcome.known > 0
    # the same failures, not recognised by the suite: still found
    assert not fuzz(suite, documented, examples=40, seed=1).ok
    # recognised by the suite, but this implementation documents no such divergence
    assert not fuzz(big, wrong, examples=40, seed=1).ok
