"""Tests of harness.verify: every verdict status, the checks behind it and its repro command."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.spec import Case, ErrorCase, Suite
from harness.verify import case_inputs, oracle_output, repro_command, verify

MakeImpl = Callable[..., Implementation]


def scale(x: Any, factor: float, *, mode: str = "plain") -> Any:
    return x * x.dtype.type(factor * (2.0 if mode == "double" else 1.0))


def off_by_one_at_2(x: Any, factor: float, *, mode: str = "plain") -> Any:
    out = scale(x, factor, mode=mode)
    out[2] += 1.0
    return out


def writes_input(x: Any, factor: float, *, mode: str = "plain") -> Any:
    x *= factor
    return x.copy()


def always_float64(x: Any, factor: float, *, mode: str = "plain") -> Any:
    return np.asarray(x, dtype=np.float64) * factor


def flattened_pairs(x: Any, factor: float, *, mode: str = "plain") -> Any:
    return scale(x, factor).reshape(-1, 2)


def raises_zero_division(x: Any, factor: float, *, mode: str = "plain") -> Any:
    raise ZeroDivisionError("nope")


def plain_only_silently(x: Any, factor: float, *, mode: str = "plain") -> Any:
    return x * factor  # ignores mode: runs "plain" whatever was asked


def plain_only_refusing(x: Any, factor: float, *, mode: str = "plain") -> Any:
    if mode != "plain":
        raise ValueError(f"mode={mode!r} is not supported")
    return x * factor


def python_scale(x: list[float], factor: float, *, mode: str = "plain") -> list[float]:
    k = factor * (2.0 if mode == "double" else 1.0)
    return [v * k for v in x]


def python_writes_input(x: list[float], factor: float, *, mode: str = "plain") -> list[float]:
    x[0] = 123.0
    return [v * factor for v in x]


def check_1d(message: str) -> Callable[..., Any]:
    def fn(x: Any, factor: float, *, mode: str = "plain") -> Any:
        if x.ndim != 1:
            raise ValueError(message)
        return x * factor

    return fn


# ---- pass / fail on values -----------------------------------------------------------------


@pytest.mark.parametrize("case_name", ["small", "small_f32", "double", "empty"])
def test_correct_implementation_passes(suite: Suite, make_impl: MakeImpl, case_name: str) -> None:
    case = suite.find_case(case_name)
    v = verify(suite, make_impl(scale), case)
    assert v.status == "pass", v.detail
    assert v.ok
    assert (v.case, v.case_kind, v.dtype) == (case_name, case.kind, case.dtype)
    assert v.error_ratio <= 1
    assert v.rtol == suite.compare.tolerance(case).rtol


def test_float32_verdict_records_the_tolerance_and_error(suite: Suite, make_impl: MakeImpl) -> None:
    v = verify(suite, make_impl(scale), suite.find_case("small_f32"))
    assert v.rtol == pytest.approx(10 * 2.0**-24)
    assert v.atol == pytest.approx(10 * 2.0**-24)
    assert v.tolerance_reason.startswith("float32 default")
    assert v.total == 8
    assert 0 < v.max_rel <= 2.0**-24


def test_wrong_values_fail_with_a_repro_command(suite: Suite, make_impl: MakeImpl) -> None:
    v = verify(suite, make_impl(off_by_one_at_2, variant="buggy"), suite.find_case("small"))
    assert v.status == "fail"
    assert not v.ok
    assert v.mismatches == 1 and v.total == 8
    assert v.worst_index == (2,)
    assert v.detail.startswith("1/8 elements differ; first at (2,)")
    assert v.max_abs == pytest.approx(1.0)
    assert v.repro == (
        "shootout verify --algorithm toy_scale --backend numpy --variant buggy --case small"
    )
    assert "--case small" in v.repro
    assert v.as_dict()["worst_index"] == [2]


def test_writing_into_the_input_fails(suite: Suite, make_impl: MakeImpl) -> None:
    v = verify(suite, make_impl(writes_input), suite.find_case("small"))
    assert v.status == "fail"
    assert "modified its input(s) ['x'] in place" in v.detail


def test_wrong_dtype_fails_before_values(suite: Suite, make_impl: MakeImpl) -> None:
    v = verify(suite, make_impl(always_float64), suite.find_case("small_f32"))
    assert v.status == "fail"
    assert v.detail == "output 'out' has dtype float64, expected float32"


def test_wrong_shape_fails(suite: Suite, make_impl: MakeImpl) -> None:
    v = verify(suite, make_impl(flattened_pairs), suite.find_case("small"))
    assert v.status == "fail"
    assert v.detail == "output 'out' has shape (4, 2), expected (8,)"


def test_a_tuple_for_a_single_output_fails(suite: Suite, make_impl: MakeImpl) -> None:
    v = verify(suite, make_impl(lambda x, factor, *, mode: (x * factor,)), suite.find_case("small"))
    assert v.status == "fail"
    assert v.detail == "must return one array, got a tuple of 1"


def test_raising_is_an_error_naming_the_exception(suite: Suite, make_impl: MakeImpl) -> None:
    v = verify(suite, make_impl(raises_zero_division), suite.find_case("small"))
    assert v.status == "error"
    assert v.detail == "raised ZeroDivisionError: nope"


# ---- python backend ------------------------------------------------------------------------


def test_python_backend_gets_lists_and_skips_the_dtype_check(
    suite: Suite, make_impl: MakeImpl
) -> None:
    seen: list[type] = []

    def spy(x: Any, factor: float, *, mode: str = "plain") -> list[float]:
        seen.append(type(x))
        return python_scale(x, factor, mode=mode)

    impl = make_impl(spy, backend="python")
    for name in ("small", "small_f32", "double"):
        v = verify(suite, impl, suite.find_case(name))
        assert v.status == "pass", (name, v.detail)
    assert seen == [list, list, list]


def test_python_backend_input_mutation_is_caught(suite: Suite, make_impl: MakeImpl) -> None:
    v = verify(suite, make_impl(python_writes_input, backend="python"), suite.find_case("small"))
    assert v.status == "fail"
    assert "modified" in v.detail


# ---- policy flags --------------------------------------------------------------------------


def test_silently_accepted_unsupported_option_fails(suite: Suite, make_impl: MakeImpl) -> None:
    v = verify(suite, make_impl(plain_only_silently, supports={}), suite.find_case("double"))
    assert v.status == "fail"
    assert v.detail.startswith("declares mode='double' unsupported but returned a result")


def test_refused_unsupported_option_is_a_skip(suite: Suite, make_impl: MakeImpl) -> None:
    v = verify(suite, make_impl(plain_only_refusing, supports={}), suite.find_case("double"))
    assert v.status == "skip"
    assert v.detail == (
        "unsupported convention mode='double' (refused as required: "
        "ValueError: mode='double' is not supported)"
    )


def test_unsupported_option_raising_something_else_is_an_error(
    suite: Suite, make_impl: MakeImpl
) -> None:
    v = verify(suite, make_impl(raises_zero_division, supports={}), suite.find_case("double"))
    assert v.status == "error"
    assert "must raise ValueError, raised ZeroDivisionError" in v.detail


def test_default_option_needs_no_declaration(suite: Suite, make_impl: MakeImpl) -> None:
    v = verify(suite, make_impl(plain_only_refusing, supports={}), suite.find_case("small"))
    assert v.status == "pass", v.detail


# ---- error cases ---------------------------------------------------------------------------


def test_error_case_passes_on_right_exception_and_message(
    suite: Suite, make_impl: MakeImpl
) -> None:
    v = verify(suite, make_impl(check_1d("x must be 1-D")), suite.find_case("not_1d"))
    assert v.status == "pass"
    assert v.case_kind == "error"
    assert v.note == "raised ValueError: x must be 1-D"


def test_error_case_with_wrong_message_fails(suite: Suite, make_impl: MakeImpl) -> None:
    v = verify(suite, make_impl(check_1d("bad input")), suite.find_case("not_1d"))
    assert v.status == "fail"
    assert v.detail == (
        "raised ValueError but the message 'bad input' does not match 'must be 1-D'"
    )


def test_error_case_with_wrong_exception_fails(suite: Suite, make_impl: MakeImpl) -> None:
    v = verify(suite, make_impl(raises_zero_division), suite.find_case("not_1d"))
    assert v.status == "fail"
    assert v.detail == (
        "must raise ValueError matching 'must be 1-D', raised ZeroDivisionError: nope"
    )


def test_error_case_without_raising_fails(suite: Suite, make_impl: MakeImpl) -> None:
    v = verify(suite, make_impl(plain_only_silently), suite.find_case("not_1d"))
    assert v.status == "fail"
    assert v.detail == "must raise ValueError matching 'must be 1-D', returned normally"


def test_error_case_ignores_the_size_cap(suite: Suite, make_impl: MakeImpl) -> None:
    impl = make_impl(check_1d("x must be 1-D"), max_flops=1.0)
    assert verify(suite, impl, suite.find_case("not_1d")).status == "pass"


# ---- expected failures ---------------------------------------------------------------------


def test_expected_failure_turns_a_fail_into_xfail(suite: Suite, make_impl: MakeImpl) -> None:
    impl = make_impl(off_by_one_at_2, expected_failures={"small": "documented quirk"})
    v = verify(suite, impl, suite.find_case("small"))
    assert v.status == "xfail"
    assert v.ok
    assert v.note.startswith("known divergence: documented quirk (was: 1/8 elements differ")
    other = verify(suite, impl, suite.find_case("double"))
    assert other.status == "fail"


def test_stale_expected_failure_is_an_error(suite: Suite, make_impl: MakeImpl) -> None:
    impl = make_impl(scale, expected_failures={"small": "documented quirk"})
    v = verify(suite, impl, suite.find_case("small"))
    assert v.status == "error"
    assert "unexpected pass" in v.detail and "'documented quirk' is stale" in v.detail


# ---- suite-side problems, caps and availability --------------------------------------------


def test_vacuous_case_is_an_error(suite: Suite, make_impl: MakeImpl) -> None:
    case = Case("tiny", {"n": 6, "seed": 3, "magnitude": 1e-14})
    v = verify(suite, make_impl(lambda x, factor, *, mode: np.zeros_like(x)), case)
    assert v.status == "error"
    assert v.detail.startswith("vacuous case: the tolerance alone would accept an all-zero")


def test_oracle_raising_on_a_regular_case_is_a_suite_error(
    suite: Suite, make_impl: MakeImpl
) -> None:
    case = Case("matrix", {"shape": [2, 2], "seed": 1})
    v = verify(suite, make_impl(scale), case)
    assert v.status == "error"
    assert v.detail == (
        "the suite's oracle raised ValueError: x must be 1-D, got ndim=2 on "
        "this case (a suite bug, not the implementation's)"
    )


def test_size_cap_skips_without_calling(suite: Suite, make_impl: MakeImpl) -> None:
    calls: list[int] = []

    def counted(x: Any, factor: float, *, mode: str = "plain") -> Any:
        calls.append(1)
        return scale(x, factor, mode=mode)

    impl = make_impl(counted, max_flops=4.0)
    v = verify(suite, impl, suite.find_case("small"))
    assert v.status == "skip"
    assert v.detail == "size cap: case needs 8 flops > 4 declared by the implementation"
    assert calls == []
    assert verify(suite, make_impl(counted, max_flops=8.0), suite.find_case("small")).ok


def test_unavailable_implementation_is_skipped_with_the_reason(
    suite: Suite, make_impl: MakeImpl
) -> None:
    impl = make_impl(None, requires=("surely_missing_module_xyz",))
    v = verify(suite, impl, suite.find_case("small"))
    assert v.status == "skip"
    assert v.detail == "numpy: surely_missing_module_xyz not installed"


# ---- shared inputs -------------------------------------------------------------------------


def test_master_inputs_are_shared_read_only_and_untouched(
    suite: Suite, make_impl: MakeImpl
) -> None:
    case = suite.find_case("small")
    first = case_inputs(suite, case)
    assert list(first) == ["x", "factor"]
    assert not first["x"].flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        first["x"][0] = 1.0
    pristine = suite.make_inputs(case)["x"]
    verify(suite, make_impl(writes_input), case)
    verify(suite, make_impl(python_writes_input, backend="python"), case)
    again = case_inputs(suite, case)
    assert again is first
    np.testing.assert_array_equal(again["x"], pristine)
    assert again["x"].dtype == np.float64


def test_oracle_sees_float64_even_for_float32_cases(suite: Suite) -> None:
    case = suite.find_case("small_f32")
    out = oracle_output(suite, case)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, case_inputs(suite, case)["x"].astype(np.float64) * 2.5)


def test_make_inputs_must_match_the_oracle_signature(
    make_suite: Callable[..., Suite], make_impl: MakeImpl
) -> None:
    bad = make_suite(make_inputs=lambda case: {"factor": 2.0, "x": np.ones(3)})
    with pytest.raises(ValueError, match=r"make_inputs returned \['factor', 'x'\]"):
        case_inputs(bad, bad.find_case("small"))


# ---- repro commands ------------------------------------------------------------------------


def test_fuzz_case_repro_round_trips_through_case_json(suite: Suite, make_impl: MakeImpl) -> None:
    case = Case("fuzz", {"n": 5, "seed": 11}, {"mode": "double"}, kind="fuzz")
    v = verify(suite, make_impl(off_by_one_at_2), case)
    assert v.status == "fail"
    parts = shlex.split(v.repro)
    assert "--case" not in parts
    rebuilt = Case.from_json(parts[parts.index("--case-json") + 1])
    assert rebuilt.params == case.params and rebuilt.options == case.options
    assert rebuilt.kind == "custom"
    np.testing.assert_array_equal(suite.make_inputs(rebuilt)["x"], suite.make_inputs(case)["x"])
    assert verify(suite, make_impl(off_by_one_at_2), rebuilt).detail == v.detail


def test_plugin_repro_names_the_plugin(make_impl: MakeImpl) -> None:
    impl = make_impl(scale, origin="plugin:my file.py")
    command = repro_command(impl, Case("custom", {"n": 2}, kind="custom"))
    parts = shlex.split(command)
    assert parts[-2:] == ["--plugin", "my file.py"]
    assert parts[parts.index("--case-json") + 1] == '{"options": {}, "params": {"n": 2}}'


def test_error_case_object_and_case_name_agree(suite: Suite) -> None:
    err = suite.find_case("not_1d")
    assert isinstance(err, ErrorCase)
    assert err.as_case().kind == "error"
