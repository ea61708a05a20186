"""Conformance generated from the registry: every suite and implementation keeps the contract."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation, Registry, RegistryError, load_registry
from harness.spec import Case, Suite
from harness.verify import case_inputs, oracle_output

REGISTRY = load_registry()
SUITES = sorted(REGISTRY.suites.values(), key=lambda s: s.algorithm)
IMPLS = REGISTRY.select()
CORE_BACKENDS = ("python", "numpy", "numba", "torch_cpu", "torch_cuda", "cupy", "library")
FIVE = {
    "pairwise_l2_distance",
    "box_iou_axis_aligned",
    "nms_greedy",
    "batchnorm_forward_running_stats",
    "scaled_dot_product_attention",
}


def _suite_id(suite: Suite) -> str:
    return suite.algorithm


def test_the_five_algorithms_are_registered() -> None:
    assert set(REGISTRY.suites) >= FIVE


@pytest.mark.parametrize("suite", SUITES, ids=_suite_id)
def test_suite_is_complete(suite: Suite) -> None:
    assert suite.summary and suite.conventions and suite.reference
    assert inspect.getdoc(suite.oracle), "the oracle needs a docstring"
    assert any(c.kind == "edge" for c in suite.cases), "no edge cases"
    assert suite.error_cases, "no error cases"
    for profile in ("smoke", "quick", "full"):
        assert suite.bench.get(profile), f"no {profile} benchmark sizes"
    assert suite.fuzz is not None, "no fuzz strategy"
    for name, values in suite.options.items():
        assert len(values) >= 1, name
    sig = inspect.signature(suite.oracle)
    kwonly = {p.name: p.default for p in sig.parameters.values() if p.kind == p.KEYWORD_ONLY}
    assert kwonly == suite.option_defaults, "oracle keyword defaults must equal option defaults"


@pytest.mark.parametrize("suite", SUITES, ids=_suite_id)
def test_every_core_backend_has_an_implementation(suite: Suite) -> None:
    present = {i.backend for i in IMPLS if i.algorithm == suite.algorithm}
    missing = set(CORE_BACKENDS) - present
    assert not missing, f"{suite.algorithm} lacks {sorted(missing)}"


@pytest.mark.parametrize("suite", SUITES, ids=_suite_id)
def test_oracle_raises_on_every_error_case(suite: Suite) -> None:
    for err in suite.error_cases:
        inputs = case_inputs(suite, err.as_case())
        with pytest.raises(err.expected, match=err.match):
            suite.oracle(*inputs.values(), **suite.with_defaults(err.as_case()))


@pytest.mark.parametrize("suite", SUITES, ids=_suite_id)
def test_no_case_is_vacuous(suite: Suite) -> None:
    vacuous = getattr(suite.compare, "vacuous", None)
    if vacuous is None:
        pytest.skip(f"{type(suite.compare).__name__} compares exactly: no tolerance to hide in")
    for case in suite.cases:
        assert not vacuous(oracle_output(suite, case), case), case.name


@pytest.mark.parametrize("suite", SUITES, ids=_suite_id)
def test_inputs_are_seeded_and_reproducible(suite: Suite) -> None:
    case = suite.cases[0]
    first = suite.make_inputs(case)
    again = suite.make_inputs(Case.from_json(case.to_json(), case.name))
    for name in first:
        np.testing.assert_array_equal(np.asarray(first[name]), np.asarray(again[name]))


@pytest.mark.parametrize("suite", SUITES, ids=_suite_id)
def test_cost_model_is_positive_on_benchmark_sizes(suite: Suite) -> None:
    for cases in suite.bench.values():
        for case in cases:
            cost = suite.cost(case)
            assert cost.flops > 0 and cost.bytes > 0, case.name


@pytest.mark.parametrize("suite", SUITES, ids=_suite_id)
def test_standard_size_is_a_quick_bench_case(suite: Suite) -> None:
    """The report's index summarises each algorithm at this case; quick must time it."""
    assert suite.standard, f"{suite.algorithm} names no standard bench case"
    assert suite.standard in {c.name for c in suite.cases_for_profile("quick")}


def _declared_signature(impl: Implementation) -> tuple[list[str], dict[str, Any]]:
    """Positional names and keyword-only defaults, read from the source if not importable."""
    if impl.fn is not None:
        sig = inspect.signature(impl.fn)
        pos = [
            p.name
            for p in sig.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        kw = {p.name: p.default for p in sig.parameters.values() if p.kind == p.KEYWORD_ONLY}
        return pos, kw
    tree = ast.parse(Path(impl.source).read_text())
    funcs = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef)
        and n.decorator_list
        and any("implementation" in ast.unparse(d) for d in n.decorator_list)
    ]
    assert funcs, f"{impl.source}: no @implementation-decorated function"
    fn = funcs[0]
    pos = [a.arg for a in fn.args.posonlyargs + fn.args.args]
    kw = {
        a.arg: ast.literal_eval(d) if d is not None else None
        for a, d in zip(fn.args.kwonlyargs, fn.args.kw_defaults, strict=True)
    }
    return pos, kw


@pytest.mark.parametrize("impl", IMPLS, ids=lambda i: i.key)
def test_signature_mirrors_the_oracle(impl: Implementation) -> None:
    suite = REGISTRY.suite(impl.algorithm)
    pos, kw = _declared_signature(impl)
    assert pos == suite.parameters
    assert kw == suite.option_defaults


@pytest.mark.parametrize("impl", IMPLS, ids=lambda i: i.key)
def test_implementation_metadata(impl: Implementation) -> None:
    suite = REGISTRY.suite(impl.algorithm)
    for option, values in impl.supports.items():
        assert option in suite.options, f"supports unknown option {option!r}"
        assert set(values) <= set(suite.options[option]), option
    known_cases = {c.name for c in suite.all_cases()}
    assert set(impl.expected_failures) <= known_cases, "expected failure names no case"
    if impl.fn is not None:
        assert impl.description, "an implementation's docstring says its approach"
    if impl.backend == "python":
        assert impl.max_flops is not None, "pure-Python implementations declare a size cap"


def test_ids_are_unique_and_duplicates_are_refused(tmp_path: Path) -> None:
    keys = [i.key for i in IMPLS]
    assert len(keys) == len(set(keys))
    first = IMPLS[0]
    plugin = tmp_path / "dup.py"
    plugin.write_text(
        "from harness import implementation\n"
        f"@implementation({first.algorithm!r}, {first.backend!r}, {first.variant!r})\n"
        "def f(*args, **kwargs):\n    return None\n"
    )
    fresh = Registry().load_project()
    with pytest.raises(RegistryError, match="registered twice"):
        fresh.load_plugin(str(plugin))
