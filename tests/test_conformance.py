"""Conformance generated from the registry: every suite and implementation keeps the contract."""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pytest

import harness.registry as registry_module
from harness.args import Arg, ArrayList
from harness.backends import module_reason
from harness.budget import (
    QUICK_ALGORITHM_S,
    QUICK_SIZES,
    REFERENCE,
    TIMINGS,
    VERIFY_CASE_BYTES,
    VERIFY_CASE_FLOPS,
    predict,
    runs_on_cpu,
)
from harness.comparators import Distribution
from harness.declared import NotStatic, read_all
from harness.options import Options, same_value
from harness.prepare import case_cost
from harness.registry import Implementation, Registry, RegistryError, load_registry
from harness.selection import Cell
from harness.spec import Case, Suite
from harness.verify import case_inputs, oracle_output

REGISTRY = load_registry()
SUITES = sorted(REGISTRY.suites.values(), key=lambda s: s.algorithm)
IMPLS = REGISTRY.select()
#: "Several hundred": past the first block of a 256-wide tile or thread block.
MULTI_BLOCK_MIN = 257
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


# ---- options: declared once, in one typed record -------------------------------------------


@pytest.mark.parametrize("suite", SUITES, ids=_suite_id)
def test_options_are_one_typed_record(suite: Suite) -> None:
    assert issubclass(suite.options, Options)
    for flag in suite.options.flags():
        assert flag.values and flag.meaning, f"{flag.name}: values and a meaning"
        assert suite.options.build({}).as_dict()[flag.name] == flag.default
    expected = suite.parameters + (["opts"] if suite.takes_options else [])
    sig = inspect.signature(suite.oracle)
    assert list(sig.parameters) == expected, "oracle: the inputs, then the options record"
    assert all(p.default is p.empty for p in sig.parameters.values()), (
        "the oracle restates no default: defaults live in the options record"
    )


@pytest.mark.parametrize("suite", SUITES, ids=_suite_id)
def test_every_option_value_is_exercised_by_a_verify_case(suite: Suite) -> None:
    used = [suite.options.build(c.options) for c in suite.cases]
    for flag in suite.options.flags():
        for value in flag.values:
            assert any(same_value(getattr(o, flag.name), value) for o in used), (
                f"no verify case runs {flag.name}={value!r}: an implementation ignoring it "
                "would pass"
            )


@pytest.mark.parametrize("suite", SUITES, ids=_suite_id)
def test_invalid_option_combinations_are_refused(suite: Suite) -> None:
    for combo in suite.invalid_options:
        with pytest.raises(ValueError):
            suite.options.build(combo)


# ---- error cases: generated per argument, raised by the oracle ------------------------------


@pytest.mark.parametrize("suite", SUITES, ids=_suite_id)
def test_generic_error_cases_cover_every_argument(suite: Suite) -> None:
    names = {e.name for e in suite.error_cases}
    for decl in suite.args.decls:
        if isinstance(decl, Arg):
            assert {f"{decl.name}:extra_axis", f"{decl.name}:wrong_dtype"} <= names
            for i, dim in enumerate(decl.shape):
                if isinstance(dim, int):
                    assert f"{decl.name}:wrong_size@{i}" in names
                if dim in suite.args.shared():
                    assert f"{decl.name}:mismatch@{i}" in names, f"{decl.name}: {dim} mismatch"
        elif isinstance(decl, ArrayList):
            assert {f"{decl.name}:not_a_list", f"{decl.name}:wrong_dtype"} <= names
        else:
            assert f"{decl.name}:not_a_number" in names
    base = _sizes(suite, suite.error_base_case())
    named = {k: v for k, v in base.items() if not k.startswith("*")}
    assert all(v >= 2 for v in named.values()), f"error_base sizes must be >= 2: {named}"
    assert len(set(named.values())) == len(named), f"error_base sizes must differ: {named}"


@pytest.mark.parametrize("suite", SUITES, ids=_suite_id)
def test_oracle_raises_on_every_error_case(suite: Suite) -> None:
    for err in suite.error_cases:
        inputs = case_inputs(suite, err.as_case())
        with pytest.raises(err.expected, match=err.match):
            suite.run_oracle(inputs, err.as_case())


# ---- edge cases that discriminate ------------------------------------------------------------


def _sizes(suite: Suite, case: Case) -> dict[str, int]:
    """Every declared dimension's size in this case, starred axes included (``*S0``). An
    input of another form than declared, which an option allows (a graph as a dense or
    sparse matrix instead of an edge list), binds nothing."""
    inputs = suite.inputs_for(case)
    out: dict[str, int] = {}
    for decl in (a for a in suite.args.arrays if inputs[a.name] is not None):  # optional: None
        value = inputs[decl.name]
        if not isinstance(value, np.ndarray | list | tuple):
            continue
        bound = decl.symbols(np.asarray(value).shape)
        if any(isinstance(d, int) and d != size for d, _axis, size in bound):
            continue
        out.update((d, size) for d, _axis, size in bound if isinstance(d, str))
    return out


def _literals(suite: Suite) -> set[int]:
    return {d for a in suite.args.arrays for d in a.shape if isinstance(d, int)}


@pytest.mark.parametrize("suite", SUITES, ids=_suite_id)
def test_an_empty_case_along_each_dimension_with_distinct_other_sizes(suite: Suite) -> None:
    sizes = [(c.name, _sizes(suite, c)) for c in suite.cases]
    for sym in suite.args.emptiable():
        good = [
            name
            for name, s in sizes
            if s.get(sym) == 0
            and all(v > 0 for k, v in s.items() if k != sym)
            and len({v for k, v in s.items() if k != sym}) == len(s) - 1
            and not {v for k, v in s.items() if k != sym} & _literals(suite)
        ]
        assert good, (
            f"no verify case with {sym} = 0 and every other size nonzero, distinct and unlike "
            f"the literal sizes {sorted(_literals(suite))} (an output of the wrong trailing "
            "size would pass)"
        )


@pytest.mark.parametrize("suite", SUITES, ids=_suite_id)
def test_a_verify_case_runs_several_blocks(suite: Suite) -> None:
    assert suite.multi_block, "declare multi_block: the sizes past a tiled kernel's first block"
    sizes = [_sizes(suite, c) for c in suite.cases]
    for sym, size in suite.multi_block.items():
        assert size >= MULTI_BLOCK_MIN, f"{sym}={size}: several hundred, past a 256 tile"
        assert any(s.get(sym, 0) >= size for s in sizes), f"no verify case reaches {sym}={size}"


def _rounded_to_float32(inputs: dict[str, Any]) -> dict[str, Any]:
    """float64 arrays rounded to float32 and back, lists of them (ArrayList) included."""

    def rounded(v: Any) -> Any:
        if isinstance(v, np.ndarray) and v.dtype == np.float64:
            return v.astype(np.float32).astype(np.float64)
        if isinstance(v, list | tuple):
            return type(v)(rounded(x) for x in v)
        return v

    return {k: rounded(v) for k, v in inputs.items()}


def _float32_inputs_fail(suite: Suite, case: Case) -> bool:
    """Does the oracle fed float32-rounded inputs fail this float64 case's comparator?"""
    inputs = case_inputs(suite, case)
    lowered = suite.run_oracle(_rounded_to_float32(dict(inputs)), case)
    expected = oracle_output(suite, case)
    tol = suite.compare.tolerance(case)
    return not suite.compare(lowered, expected, inputs, case, tol).passed


@pytest.mark.parametrize("suite", SUITES, ids=_suite_id)
def test_lower_precision_than_the_inputs_is_caught(suite: Suite) -> None:
    """Threshold-adjacent cases (or, without a threshold, some float64 case) must fail an
    implementation that rounds float64 inputs to float32."""
    if isinstance(suite.compare, Distribution):
        pytest.skip("statistical suite: the oracle returns a Law, there are no values to round")
    if not any(getattr(d, "dtype", None) in ("float", "real") for d in suite.args.decls):
        pytest.skip("integer inputs only: there is no float64 input to round to float32")
    for name in suite.near_threshold:
        case = suite.find_case(name)
        assert isinstance(case, Case) and case in suite.cases, f"{name}: a verify case"
        assert case.dtype == "float64", f"{name}: threshold-adjacent inputs come as float64"
        assert _float32_inputs_fail(suite, case), f"{name} does not catch float32 arithmetic"
    f64 = [c for c in suite.cases if c.dtype == "float64"]
    assert any(_float32_inputs_fail(suite, c) for c in f64), (
        "no float64 verify case tells float32 arithmetic from float64"
    )


@pytest.mark.parametrize("suite", SUITES, ids=_suite_id)
def test_every_core_backend_has_an_implementation(suite: Suite) -> None:
    present = {i.backend for i in IMPLS if i.algorithm == suite.algorithm}
    missing = set(suite.backends) - present
    assert not missing, f"{suite.algorithm} lacks {sorted(missing)}"
    assert set(suite.backends) <= set(CORE_BACKENDS), "backends outside the vocabulary"


@pytest.mark.parametrize("suite", SUITES, ids=_suite_id)
def test_no_case_is_vacuous(suite: Suite) -> None:
    for case in suite.cases:
        assert not suite.compare.vacuous(oracle_output(suite, case), case), case.name


@pytest.mark.parametrize("suite", SUITES, ids=_suite_id)
def test_inputs_are_seeded_and_reproducible(suite: Suite) -> None:
    case = suite.cases[0]
    first = suite.make_inputs(case)
    again = suite.make_inputs(Case.from_json(case.to_json(), case.name))
    for name in first:
        np.testing.assert_equal(first[name], again[name])  # lists of arrays element-wise


def _cost_without_the_answer(suite: Suite, case: Case) -> Any:
    """The cost model, without running the oracle where the model can do without (an
    iterative algorithm counted at its iteration cap): at the full profile's sizes the
    oracle alone takes minutes, which belongs to ``shootout bench``, not to the tests."""
    if suite.cost_needs_output:
        answer = list(inspect.signature(suite.cost).parameters.values())[1]
        if answer.default is not answer.empty:
            return suite.cost(case)
    return case_cost(suite, case)


@pytest.mark.parametrize("suite", SUITES, ids=_suite_id)
def test_cost_model_is_positive_on_benchmark_sizes(suite: Suite) -> None:
    quick = suite.cases_for_profile("quick")
    for cases in suite.bench.values():
        for case in cases:
            exact = case in quick
            cost = case_cost(suite, case) if exact else _cost_without_the_answer(suite, case)
            assert cost.flops > 0 and cost.bytes > 0, case.name


@pytest.mark.parametrize("suite", SUITES, ids=_suite_id)
def test_standard_size_is_a_quick_bench_case(suite: Suite) -> None:
    """The report's index summarises each algorithm at this case; quick must time it."""
    assert suite.standard, f"{suite.algorithm} names no standard bench case"
    assert suite.standard in {c.name for c in suite.cases_for_profile("quick")}


# ---- budgets of the run (harness.budget) ------------------------------------------------------

ALGORITHMS = sorted({s.base_algorithm for s in SUITES})


@pytest.mark.parametrize("suite", SUITES, ids=_suite_id)
def test_quick_profile_times_the_standard_case_and_at_most_one_smaller_size(suite: Suite) -> None:
    cases = suite.cases_for_profile("quick")
    assert len(cases) <= QUICK_SIZES and cases[-1].name == suite.standard
    for small in cases[:-1]:
        assert case_cost(suite, small).flops < case_cost(suite, cases[-1]).flops, small.name


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_quick_profile_fits_its_budget(algorithm: str) -> None:
    """``shootout bench --profile quick`` may spend QUICK_ALGORITHM_S = 6 s on an algorithm
    (every mode), so that 94 algorithms fit in 10 minutes on a 2-core machine. Predicted
    without a clock (harness.budget.predict): the suite's cost model for each quick case,
    harness.budget.REFERENCE (fixed rates of a 2-core x86-64 machine at one thread: compiled
    code 2 GFLOP/s or 4 GB/s, pure Python 5 MFLOP/s, inputs and oracle 0.5 GFLOP/s or
    0.5 GB/s, 20 ms of harness work per cell, 1.5 s per Numba compile) and the quick
    profile's timing rule (TIMINGS["quick"]: pytest-benchmark's loop with 0.1 s of rounds
    for a fast call; a slow call gets a warm call and 3 to 5 rounds within 0.5 s). Every
    implementation that runs on a CPU-only machine counts, whatever this machine has, so the
    verdict is the same everywhere; cells skipped by a size cap cost nothing."""
    suites = [s for s in SUITES if s.base_algorithm == algorithm]
    cells = [
        Cell("bench", suite, impl, case)
        for suite in suites
        for case in suite.cases_for_profile("quick")
        for impl in IMPLS
        if impl.algorithm == suite.algorithm
    ]
    predicted = predict(cells, REFERENCE, TIMINGS["quick"], runs_on_cpu)
    assert predicted.seconds <= QUICK_ALGORITHM_S, (
        f"the quick profile is predicted at {predicted.seconds:.2f} s for {algorithm} "
        f"({predicted.cells} cells), over its {QUICK_ALGORITHM_S:g} s: make the standard "
        "case smaller (the spec's size can go to the full profile)"
    )


@pytest.mark.parametrize("suite", SUITES, ids=_suite_id)
def test_verify_cases_stay_under_the_cost_cap(suite: Suite) -> None:
    """The test matrix verifies every implementation on every verify case: no case may cost
    more than VERIFY_CASE_FLOPS = 3e8 flops or VERIFY_CASE_BYTES = 3e8 bytes (the suite's
    cost model). At the reference rates that is 0.15 s for one compiled implementation and
    0.6 s for the inputs and the oracle, so even the largest case takes about 1.7 s (seven
    implementations) of an algorithm's 16 s of test time (8 s of wall time on two workers,
    harness.budget). Verification at benchmark sizes belongs to ``shootout bench``."""
    for case in suite.cases:
        cost = case_cost(suite, case)
        assert cost.flops <= VERIFY_CASE_FLOPS, f"{case.name}: {cost.flops:.3g} flops"
        assert cost.bytes <= VERIFY_CASE_BYTES, f"{case.name}: {cost.bytes:.3g} bytes"


def _declared_signature(impl: Implementation) -> tuple[list[str], bool]:
    """Positional names, and whether any parameter restates a default (source if needed)."""
    if impl.fn is not None:
        params = list(inspect.signature(impl.fn).parameters.values())
        pos = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        return pos, any(p.default is not p.empty or p.kind != p.POSITIONAL_OR_KEYWORD
                        for p in params)  # fmt: skip
    tree = ast.parse(Path(impl.source).read_text())
    funcs = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef)
        and n.decorator_list
        and any("implementation" in ast.unparse(d) for d in n.decorator_list)
    ]
    assert funcs, f"{impl.source}: no @implementation-decorated function"

    def registers(f: ast.FunctionDef) -> bool:  # a file may hold a forward and a backward
        return any(
            isinstance(d, ast.Call)
            and d.args
            and isinstance(d.args[0], ast.Constant)
            and d.args[0].value == impl.algorithm
            for d in f.decorator_list
        )

    a = next((f for f in funcs if registers(f)), funcs[0]).args
    pos = [x.arg for x in a.posonlyargs + a.args]
    return pos, bool(a.defaults or a.kwonlyargs or a.vararg or a.kwarg)


@pytest.mark.parametrize("impl", IMPLS, ids=lambda i: i.key)
def test_signature_mirrors_the_oracle(impl: Implementation) -> None:
    """The inputs by the oracle's names, then the options record; no default restated."""
    suite = REGISTRY.suite(impl.algorithm)
    pos, restates = _declared_signature(impl)
    assert pos[: len(suite.parameters)] == suite.parameters
    assert len(pos) == len(suite.parameters) + suite.takes_options
    assert not restates, "no defaults, *args or keyword-only flags: options come as one record"


@pytest.mark.parametrize("impl", IMPLS, ids=lambda i: i.key)
def test_implementation_metadata(impl: Implementation) -> None:
    suite = REGISTRY.suite(impl.algorithm)
    for option, values in impl.supports.items():
        flag = suite.options.flag(option)
        assert all(flag.allows(v) for v in values), option
    known_cases = {c.name for c in suite.all_cases()} | {e.name for e in suite.error_cases}
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


@pytest.mark.parametrize("suite", [s for s in SUITES if s.divergent_inputs], ids=_suite_id)
def test_divergent_inputs_recognise_their_case_and_not_every_case(suite: Suite) -> None:
    """A test that recognised every input would excuse every fuzz failure of the
    implementations that document the divergence: it must hold on its own case and fail
    on most verify cases."""
    regular = [c for c in suite.cases if c.kind == "regular"]
    for name, recognise in suite.divergent_inputs.items():
        named = suite.find_case(name)
        assert isinstance(named, Case)
        assert recognise(case_inputs(suite, named)), f"{name}: not recognised on its own case"
        hits = sum(bool(recognise(case_inputs(suite, c))) for c in regular)
        assert hits <= len(regular) // 2, f"{name}: recognised on {hits}/{len(regular)} cases"


# ---- the registry reads every implementation from its source ----------------------------------


def _project_files() -> list[Path]:
    import implementations

    return sorted(Path(implementations.__path__[0]).glob("*/[!_]*.py"))


def test_every_implementation_file_is_listed_without_importing_it() -> None:
    unread = {
        str(path): str(reading)
        for path, reading in read_all(_project_files(), None).items()
        if isinstance(reading, NotStatic)
    }
    assert not unread, (
        "listing would import these files: write @implementation(...)'s arguments as literals, "
        "arithmetic, constants of the file or of a suite (see harness.declared)"
    )


def test_reading_the_sources_equals_importing_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every record read from the source equals what the imported decorator registers; files
    that cannot be imported here (CuPy without a GPU) are imported with stand-ins for the
    packages they miss, and only their records carry the reason."""
    listed = Registry().load_project()
    imported = Registry().load_project(eager=True)
    real = {k: i for k, i in imported.implementations.items() if i.function is not None}
    stood_in: dict[str, Implementation] = {}
    for path, reading in read_all(_project_files(), None).items():
        assert not isinstance(reading, NotStatic)
        missing = [m for m in reading.imports if module_reason(m)]
        if not missing:
            continue
        module = f"implementations.{path.parent.name}.{path.stem}"
        for name in missing:
            monkeypatch.setitem(sys.modules, name, mock.MagicMock())
        try:
            importlib.import_module(module)
            stood_in.update({i.key: i for i in registry_module._BY_MODULE[module]})
        finally:
            sys.modules.pop(module, None)
            registry_module._BY_MODULE.pop(module, None)
    assert set(listed.implementations) == set(real) | set(stood_in)
    assert {k for k, i in listed.implementations.items() if i.load_error} == set(stood_in)

    def fields(impl: Implementation) -> dict[str, Any]:
        return {**impl.__dict__, "function": None, "load_error": None}

    for key, impl in listed.implementations.items():
        assert impl.function is None
        assert fields(impl) == fields(real.get(key) or stood_in[key]), key
