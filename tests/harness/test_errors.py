"""Tests of harness.errors: generic error cases generated per argument from the declaration."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.args import NO_NAN, NOT_INVERTED, Arg, Args, Scalar
from harness.cases import bench, case, error
from harness.errors import generate, mutate
from harness.options import NoOptions
from harness.registry import Implementation
from harness.spec import Case, Cost, ErrorCase, Suite
from harness.verify import verify
from tests.harness.conftest import build_suite

# ---- a two-array toy suite: weighted box areas above a score threshold -------------------

ARGS = Args(
    Arg("boxes", ("N", 4), "real", rules=(NOT_INVERTED,)),
    Arg("scores", ("N",), "float", rules=(NO_NAN,)),
    Scalar("t", low=0.0, high=1.0),
)
FIRST_ONLY = Args(ARGS.decls[0])


def zeros_for(args: Args, sizes: dict[str, int]) -> dict[str, Any]:
    """Inputs of the declared shapes at these symbol sizes (scalars 0.5): a generate() base."""
    out: dict[str, Any] = {}
    for decl in args.decls:
        if isinstance(decl, Scalar):
            out[decl.name] = 5 if decl.kind == "int" else 0.5
            continue
        dims = [d for d in decl.shape if not (isinstance(d, str) and d.startswith("*"))]
        shape = tuple(d if isinstance(d, int) else sizes.get(d, 2) for d in dims)
        out[decl.name] = np.zeros(shape, dtype=np.int64 if decl.dtype == "int" else np.float64)
    return out


def make_inputs(c: Case) -> dict[str, Any]:
    rng = np.random.default_rng(c.seed)
    n = int(c.params["n"])
    xy = rng.uniform(0.0, 10.0, size=(n, 2))
    wh = rng.uniform(0.5, 3.0, size=(n, 2))
    t = float(c.params.get("t", 0.25))
    return {
        "boxes": np.concatenate([xy, xy + wh], axis=1).astype(c.dtype),
        "scores": rng.uniform(0.0, 1.0, size=n).astype(c.dtype),
        "t": [t] if c.params.get("t_list") else t,  # the suite's own error case
    }


def weighted_areas(boxes: Any, scores: Any, t: float) -> Any:
    """The oracle: score x area where the score reaches t, else 0."""
    ARGS.check(boxes, scores, t)
    b, s = np.asarray(boxes, dtype=np.float64), np.asarray(scores, dtype=np.float64)
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return np.where(s >= t, s * area, 0.0)


def checks_everything(boxes: Any, scores: Any, t: float) -> Any:
    dtype = ARGS.check(boxes, scores, t)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return np.where(scores >= t, scores * area, 0.0).astype(dtype)


def checks_only_boxes(boxes: Any, scores: Any, t: float) -> Any:
    FIRST_ONLY.check(boxes)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return np.where(scores >= t, scores * area, 0.0).astype(boxes.dtype)


def build(**changes: Any) -> Suite:
    return build_suite(
        **{
            "algorithm": "weighted_areas",
            "summary": "score-weighted box areas",
            "conventions": "",
            "args": ARGS,
            "options": NoOptions,
            "make_inputs": make_inputs,
            "oracle": weighted_areas,
            "cost": lambda c: Cost(flops=4.0 * c.params["n"], bytes=48.0 * c.params["n"]),
            "cases": [
                case("small", n=5),
                case("small_f32", n=6, dtype="float32"),
                case("two", n=2, seed=4),
            ],
            "bench": {"smoke": [bench("bench_32", n=32)]},
            "standard": "bench_32",
            "errors": [error("t_list", TypeError, r"\bt\b", n=5, t_list=True)],
            "defaults": {"seed": 3, "dtype": "float64"},
            "fuzz": None,
            **changes,
        }
    )


SUITE = build()
SMALL = SUITE.cases[0]  # "small", with the suite's defaults filled in
BOXES_CASES = [
    "boxes:extra_axis",
    "boxes:missing_axis",
    "boxes:mismatch@0",
    "boxes:wrong_size@1",
    "boxes:wrong_dtype",
    "boxes:broken_rule@0",
]
SCORES_CASES = [
    "scores:extra_axis",
    "scores:mismatch@0",
    "scores:wrong_dtype",
    "scores:broken_rule@0",
]
T_CASES = ["t:below_range", "t:above_range", "t:nan", "t:not_a_number"]
GENERATED = [*BOXES_CASES, *SCORES_CASES, *T_CASES]


def generated(suite: Suite = SUITE) -> list[ErrorCase]:
    return [e for e in suite.error_cases if ":" in e.name]


# ---- what is generated -----------------------------------------------------------------------


def test_every_argument_gets_its_generic_cases() -> None:
    names = [e.name for e in generated()]
    assert names == GENERATED
    assert len(set(names)) == len(names)


def test_expected_exceptions_and_messages_name_the_argument() -> None:
    by_name = {e.name: e for e in generated()}
    type_errors = {"boxes:wrong_dtype", "scores:wrong_dtype", "t:not_a_number"}
    for name, err in by_name.items():
        assert err.expected == ((TypeError,) if name in type_errors else (ValueError,)), name
        arg = name.split(":")[0]
        assert err.match == rf"\b{arg}\b"
        assert err.as_case().kind == "error"


def test_generated_cases_mutate_the_base_case() -> None:
    base = SMALL
    assert base.name == "small"
    for err in generated():
        arg, rest = err.name.split(":")
        how, _, axis = rest.partition("@")
        assert err.params == {
            **base.params,
            "mutate": {"arg": arg, "how": how, "axis": int(axis or -1)},
        }
        assert err.options == base.options


def test_the_suites_own_error_cases_come_after_the_generated_ones() -> None:
    names = [e.name for e in SUITE.error_cases]
    assert names[:-1] == GENERATED and names[-1] == "t_list"
    own = SUITE.error_cases[-1]
    assert own.params == {"seed": 3, "dtype": "float64", "n": 5, "t_list": True}  # defaults filled
    assert SUITE.error_cases is SUITE.error_cases  # computed once


def test_generate_directly_from_a_declaration() -> None:
    base = Case("base", {"n": 4, "seed": 1}, {"mode": "double"})
    cases = generate(ARGS, base, zeros_for(ARGS, {"N": 4}))
    assert [c.name for c in cases] == GENERATED
    assert all(c.options == {"mode": "double"} for c in cases)


def test_mismatch_for_each_argument_carrying_a_shared_symbol() -> None:
    three = Args(Arg("a", ("N", "D")), Arg("b", ("M", "D")), Arg("c", ("N", "M", 2)))
    base = zeros_for(three, {"N": 2, "M": 3, "D": 4})
    names = [c.name for c in generate(three, Case("base", {}), base)]
    mismatches = [n for n in names if ":mismatch" in n]
    assert mismatches == [
        "a:mismatch@0",
        "a:mismatch@1",
        "b:mismatch@0",
        "b:mismatch@1",
        "c:mismatch@0",
        "c:mismatch@1",
    ]
    assert "c:wrong_size@2" in names
    assert [n for n in names if ":missing_axis" in n] == [
        "a:missing_axis",
        "b:missing_axis",
        "c:missing_axis",
    ]


def test_no_mismatch_case_for_a_symbol_of_size_zero() -> None:
    names = [c.name for c in generate(ARGS, Case("base", {}), zeros_for(ARGS, {"N": 0}))]
    assert not [n for n in names if ":mismatch" in n]
    assert "boxes:wrong_size@1" in names


def test_unshared_symbols_and_one_dimensional_arrays() -> None:
    single = Args(Arg("v", ("N",), "int"))
    names = [c.name for c in generate(single, Case("base", {}), zeros_for(single, {"N": 5}))]
    assert names == ["v:extra_axis", "v:wrong_dtype"]  # no missing axis below one dimension


def test_scalars_without_bounds_get_nan_and_not_a_number_only() -> None:
    args = Args(Scalar("u"), Scalar("lo", low=0.0), Scalar("hi", high=1.0))
    names = [c.name for c in generate(args, Case("base", {}), zeros_for(args, {}))]
    assert names == [
        "u:nan",
        "u:not_a_number",
        "lo:below_range",
        "lo:nan",
        "lo:not_a_number",
        "hi:above_range",
        "hi:nan",
        "hi:not_a_number",
    ]


def test_starred_arguments_get_an_extra_axis_past_the_most() -> None:
    args = Args(Arg("img", ("*B", "H", "W"), star=(0, 2)))
    cases = {c.name: c for c in generate(args, Case("base", {}), zeros_for(args, {"H": 4, "W": 5}))}
    assert list(cases) == ["img:extra_axis", "img:missing_axis", "img:wrong_dtype"]
    extra, gone = cases["img:extra_axis"], cases["img:missing_axis"]
    for shape in ((4, 5), (2, 4, 5), (3, 2, 4, 5)):
        longer = mutate(args, {"img": np.zeros(shape)}, extra.params["mutate"])["img"]
        assert longer.shape == (1,) * (5 - len(shape)) + shape  # one past the most (4)
        with pytest.raises(ValueError, match=extra.match):
            args.check(longer)
        shorter = mutate(args, {"img": np.zeros(shape)}, gone.params["mutate"])["img"]
        assert shorter.ndim == 1 and shorter.size == np.prod(shape)  # one below the fewest (2)
        with pytest.raises(ValueError, match=gone.match):
            args.check(shorter)


# ---- what the mutations produce --------------------------------------------------------------


def to_torch(a: Any) -> Any:
    torch = pytest.importorskip("torch")
    return torch.from_numpy(np.array(a, copy=True)) if isinstance(a, np.ndarray) else a


def to_lists(a: Any) -> Any:
    return a.tolist() if isinstance(a, np.ndarray) else a


WORLDS: dict[str, Callable[[Any], Any]] = {
    "numpy": lambda a: a,
    "torch": to_torch,
    "list": to_lists,
}


@pytest.mark.parametrize("convert", list(WORLDS.values()), ids=list(WORLDS))
@pytest.mark.parametrize("name", GENERATED)
def test_mutated_inputs_are_rejected_by_the_check_as_declared(
    name: str, convert: Callable[[Any], Any]
) -> None:
    err = SUITE.find_case(name)
    assert isinstance(err, ErrorCase)
    inputs = SUITE.inputs_for(err.as_case())
    ARGS.check(*SUITE.make_inputs(SMALL).values())  # the base is valid
    with pytest.raises(err.expected, match=err.match) as info:
        ARGS.check(*(convert(v) for v in inputs.values()))
    assert re.search(err.match, str(info.value))


def test_mutate_changes_only_the_named_argument_and_copies() -> None:
    base = make_inputs(SMALL)
    frozen = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in base.items()}
    for err in generated():
        spec = err.params["mutate"]
        out = mutate(ARGS, base, spec)
        for k in base:
            if k != spec["arg"]:
                assert out[k] is base[k], (err.name, k)
        assert out[spec["arg"]] is not base[spec["arg"]]
    for k, v in frozen.items():
        np.testing.assert_array_equal(base[k], v)  # the base inputs are untouched


def test_mutations_have_the_described_effect() -> None:
    base = make_inputs(SMALL)

    def mutated(name: str) -> Any:
        arg, rest = name.split(":")
        how, _, axis = rest.partition("@")
        return mutate(ARGS, base, {"arg": arg, "how": how, "axis": int(axis or -1)})[arg]

    assert mutated("boxes:extra_axis").shape == (1, 5, 4)
    assert mutated("boxes:missing_axis").shape == (20,)
    assert mutated("boxes:wrong_size@1").shape == (5, 3)
    assert mutated("boxes:mismatch@0").shape == (4, 4)
    assert mutated("boxes:wrong_dtype").dtype == np.bool_
    assert mutated("scores:wrong_dtype").dtype == np.int32
    assert np.isnan(mutated("scores:broken_rule@0")).any()
    inverted = mutated("boxes:broken_rule@0")
    assert inverted[0, 2] < inverted[0, 0]
    assert mutated("t:below_range") < 0.0 and mutated("t:above_range") > 1.0
    assert np.isnan(mutated("t:nan"))
    assert isinstance(mutated("t:not_a_number"), str)
    with pytest.raises(ValueError, match=r"unknown mutation 'sideways'"):
        mutate(ARGS, base, {"arg": "boxes", "how": "sideways", "axis": -1})


def test_wrong_size_on_a_literal_one_grows_the_axis() -> None:
    args = Args(Arg("col", ("N", 1)))
    cases = generate(args, Case("b", {}), zeros_for(args, {"N": 3}))
    [err] = [c for c in cases if "wrong_size" in c.name]
    out = mutate(args, {"col": np.zeros((3, 1))}, err.params["mutate"])["col"]
    assert out.shape == (3, 2)
    with pytest.raises(ValueError, match=err.match):
        args.check(out)


def test_int_scalar_range_mutations_raise_the_declared_error() -> None:
    args = Args(Scalar("k", kind="int", low=1, high=10))
    cases = {c.name: c for c in generate(args, Case("b", {}), zeros_for(args, {}))}
    assert list(cases) == ["k:below_range", "k:above_range", "k:not_a_number"]  # NaN: not an int
    for name, value in (("k:below_range", 0), ("k:above_range", 11), ("k:not_a_number", "1")):
        err = cases[name]
        mutated = mutate(args, {"k": 5}, err.params["mutate"])["k"]
        assert mutated == value and type(mutated) is type(value)
        with pytest.raises(err.expected, match=err.match):
            args.check(mutated)


# ---- the suite: rebuilding by name and the error base ------------------------------------------


def test_a_generated_case_is_found_by_name_and_rebuilds_the_same_inputs() -> None:
    err = SUITE.find_case("boxes:wrong_size@1")
    assert isinstance(err, ErrorCase)
    first = SUITE.inputs_for(err.as_case())
    again = build().inputs_for(Case.from_json(err.as_case().to_json(), "boxes:wrong_size@1"))
    for k in first:
        np.testing.assert_array_equal(first[k], again[k])
    with pytest.raises(ValueError, match=r"has no case 'boxes:sideways'"):
        SUITE.find_case("boxes:sideways")


def test_error_base_names_the_verify_case_to_mutate() -> None:
    assert SUITE.error_cases[0].params["n"] == 5  # the first regular case by default
    based = build(error_base="two")
    assert all(e.params["n"] == 2 and e.params["seed"] == 4 for e in generated(based))
    with pytest.raises(ValueError, match=r"error_base must name a verify case"):
        _ = build(error_base="t_list").error_cases


# ---- verification against the generated cases --------------------------------------------


def impl(fn: Callable[..., Any]) -> Implementation:
    return Implementation("weighted_areas", "numpy", fn.__name__, fn)


def test_the_oracle_rejects_every_error_case() -> None:
    for err in SUITE.error_cases:
        inputs = SUITE.inputs_for(err.as_case())
        with pytest.raises(err.expected, match=err.match):
            SUITE.run_oracle(inputs, err.as_case())


def test_an_implementation_checking_every_argument_passes_every_error_case() -> None:
    full = impl(checks_everything)
    for name in ("small", "small_f32", "two"):
        assert verify(SUITE, full, SUITE.find_case(name)).status == "pass"
    for err in SUITE.error_cases:
        v = verify(SUITE, full, err)
        assert v.status == "pass", (err.name, v.detail)
        assert v.case_kind == "error"
        assert v.repro.endswith(f"--case {err.name}")


def test_checking_only_the_first_argument_fails_a_generated_case_of_the_second() -> None:
    partial = impl(checks_only_boxes)
    assert verify(SUITE, partial, SUITE.find_case("small")).status == "pass"
    verdicts = {err.name: verify(SUITE, partial, err) for err in generated()}
    # boxes' own cases pass; its mismatch with scores needs both arguments checked
    own = [n for n in BOXES_CASES if n != "boxes:mismatch@0"]
    assert all(verdicts[n].status == "pass" for n in own), {n: verdicts[n].detail for n in own}
    assert verdicts["boxes:mismatch@0"].status == "fail"
    failed = [n for n in SCORES_CASES if verdicts[n].status == "fail"]
    assert failed, "a check of boxes alone passed every generated case of scores"
    wrong_dtype = verdicts["scores:wrong_dtype"]
    assert wrong_dtype.status == "fail"
    assert wrong_dtype.detail == r"must raise TypeError matching '\\bscores\\b', returned normally"
    assert all(verdicts[n].status == "fail" for n in T_CASES)


def test_the_toy_suite_generates_cases_for_its_array_and_its_scalar(
    suite: Suite, make_impl: Callable[..., Implementation]
) -> None:
    names = [e.name for e in suite.error_cases]
    assert names == ["x:extra_axis", "x:wrong_dtype", "factor:nan", "factor:not_a_number", "not_1d"]
    for err in suite.error_cases:
        v = verify(suite, make_impl(), err)
        assert v.status == "pass", (err.name, v.detail)
