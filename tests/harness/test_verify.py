"""Tests of harness.verify: every verdict status, the checks behind it and its repro command."""

from __future__ import annotations

import shlex
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.comparators import Close, Outputs
from harness.registry import Implementation, implementation
from harness.spec import Case, ErrorCase, Suite
from harness.verify import case_inputs, oracle_output, repro_command, verify

MakeImpl = Callable[..., Implementation]
PLAIN_ONLY = {"mode": ("plain",)}
SHAPE_MESSAGE = "x must have shape (N,), got (2, 3)"


def scale(x: Any, factor: float, opts: Any) -> Any:
    return x * x.dtype.type(factor * (2.0 if opts.mode == "double" else 1.0))


def off_by_one_at_2(x: Any, factor: float, opts: Any) -> Any:
    out = scale(x, factor, opts)
    out[2] += 1.0
    return out


def writes_input(x: Any, factor: float, opts: Any) -> Any:
    x *= factor
    return x.copy()


def always_float64(x: Any, factor: float, opts: Any) -> Any:
    return np.asarray(x, dtype=np.float64) * factor


def flattened_pairs(x: Any, factor: float, opts: Any) -> Any:
    return scale(x, factor, opts).reshape(-1, 2)


def raises_zero_division(x: Any, factor: float, opts: Any) -> Any:
    raise ZeroDivisionError("nope")


def plain_only_silently(x: Any, factor: float, opts: Any) -> Any:
    return x * factor  # ignores mode: runs "plain" whatever was asked


def plain_only_refusing(x: Any, factor: float, opts: Any) -> Any:
    if opts.mode != "plain":
        raise ValueError(f"mode={opts.mode!r} is not supported")
    return x * factor


def python_scale(x: list[float], factor: float, opts: Any) -> list[float]:
    k = factor * (2.0 if opts.mode == "double" else 1.0)
    return [v * k for v in x]


def python_writes_input(x: list[float], factor: float, opts: Any) -> list[float]:
    x[0] = 123.0
    return [v * factor for v in x]


def check_1d(message: str) -> Callable[..., Any]:
    def fn(x: Any, factor: float, opts: Any) -> Any:
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


@pytest.mark.parametrize(
    "fn, case, status, detail",
    [
        (always_float64, "small_f32", "fail", "output 'out' has dtype float64, expected float32"),
        (flattened_pairs, "small", "fail", "output 'out' has shape (4, 2), expected (8,)"),
        (lambda x, f, o: (x * f,), "small", "fail", "must return one array, got a tuple of 1"),
        (raises_zero_division, "small", "error", "raised ZeroDivisionError: nope"),
    ],
    ids=["dtype_before_values", "shape", "tuple_for_one_output", "raising_names_the_exception"],
)
def test_structure_and_raising_are_diagnosed(
    suite: Suite,
    make_impl: MakeImpl,
    fn: Callable[..., Any],
    case: str,
    status: str,
    detail: str,
) -> None:
    v = verify(suite, make_impl(fn), suite.find_case(case))
    assert (v.status, v.detail) == (status, detail)


def test_nan_where_the_oracle_has_a_number_is_named(suite: Suite, make_impl: MakeImpl) -> None:
    def nan_at_2(x: Any, factor: float, opts: Any) -> Any:
        out = scale(x, factor, opts)
        out[2] = np.nan
        return out

    v = verify(suite, make_impl(nan_at_2), suite.find_case("small"))
    assert v.status == "fail"
    assert v.detail.startswith("1/8 elements differ; first at (2,): got nan")
    assert "1 NaN where the oracle has a number" in v.detail
    assert v.worst_index == (2,) and v.error_ratio == float("inf")


def test_numeric_runtime_warnings_during_the_call_are_ignored(
    suite: Suite, make_impl: MakeImpl
) -> None:
    def warns_zero_by_zero(x: Any, factor: float, opts: Any) -> Any:
        _ = np.float64(0.0) / np.float64(0.0)  # RuntimeWarning: invalid value
        return scale(x, factor, opts)

    def warns_user(x: Any, factor: float, opts: Any) -> Any:
        warnings.warn("something else", UserWarning, stacklevel=1)
        return scale(x, factor, opts)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        v = verify(suite, make_impl(warns_zero_by_zero), suite.find_case("small"))
        assert v.status == "pass", v.detail
        other = verify(suite, make_impl(warns_user), suite.find_case("small"))
        assert other.status == "error" and other.detail == "raised UserWarning: something else"
        with pytest.raises(RuntimeWarning):  # the filter is restored after the call
            np.float64(0.0) / np.float64(0.0)


# ---- outputs sharing memory with inputs ----------------------------------------------------

#: factor 1: returning the input itself gives the oracle's values, so only aliasing can fail
UNIT = Case("unit", {"n": 8, "seed": 1, "factor": 1.0})


def identity(x: Any, factor: float, opts: Any) -> Any:
    return x


def python_copy(x: list[float], factor: float, opts: Any) -> list[float]:
    return list(x)


@pytest.mark.parametrize(
    ("fn", "backend"),
    [
        (identity, "numpy"),
        (lambda x, factor, opts: x[:], "numpy"),
        (lambda x, factor, opts: x.reshape(-1), "numpy"),
        (lambda x, factor, opts: np.asarray(x), "numpy"),
        (identity, "python"),
    ],
    ids=["numpy_same", "numpy_slice", "numpy_reshape", "numpy_asarray", "python_same"],
)
def test_returning_the_input_or_a_view_of_it_fails(
    suite: Suite, make_impl: MakeImpl, fn: Callable[..., Any], backend: str
) -> None:
    v = verify(suite, make_impl(fn, backend=backend), UNIT)
    assert v.status == "fail"
    assert v.detail == (
        "output 'out' shares memory with input 'x'; an output must be a new array (a caller "
        "writing into it would change the input)"
    )


def test_a_copy_of_the_input_passes(suite: Suite, make_impl: MakeImpl) -> None:
    assert verify(suite, make_impl(lambda x, factor, opts: x.copy()), UNIT).status == "pass"
    assert verify(suite, make_impl(python_copy, backend="python"), UNIT).status == "pass"


def test_may_alias_allows_an_output_to_share_memory(
    make_suite: Callable[..., Suite], make_impl: MakeImpl
) -> None:
    lenient = make_suite(may_alias=("out",))
    v = verify(lenient, make_impl(identity), UNIT)
    assert v.status == "pass", v.detail
    # still judged on values: returning the input is wrong where factor != 1
    wrong = verify(lenient, make_impl(identity), lenient.find_case("small"))
    assert wrong.status == "fail" and wrong.detail.startswith("8/8 elements differ")


def test_torch_view_of_the_input_is_caught(suite: Suite, make_impl: MakeImpl) -> None:
    pytest.importorskip("torch")
    view = verify(suite, make_impl(lambda x, factor, opts: x.view(-1), backend="torch_cpu"), UNIT)
    assert view.status == "fail" and "output 'out' shares memory with input 'x'" in view.detail
    same = verify(suite, make_impl(identity, backend="torch_cpu"), UNIT)
    assert same.status == "fail" and "shares memory with input 'x'" in same.detail
    fresh = verify(suite, make_impl(lambda x, factor, opts: x.clone(), backend="torch_cpu"), UNIT)
    assert fresh.status == "pass", fresh.detail
    scaled = verify(suite, make_impl(lambda x, factor, opts: x * factor, backend="torch_cpu"), UNIT)
    assert scaled.status == "pass", scaled.detail


def test_may_alias_is_per_output(make_suite: Callable[..., Suite], make_impl: MakeImpl) -> None:
    def both(x: Any, factor: float, opts: Any) -> Any:
        return x * factor, np.asarray(x, dtype=np.float64)

    def returns_scaled_and_input(x: Any, factor: float, opts: Any) -> Any:
        return x * factor, x

    fields: dict[str, Any] = dict(
        oracle=both,
        outputs=("scaled", "same"),
        compare=Outputs({"scaled": Close(), "same": Close()}),
    )
    strict = make_suite(**fields)
    v = verify(strict, make_impl(returns_scaled_and_input), strict.find_case("small"))
    assert v.status == "fail"
    assert v.detail.startswith("output 'same' shares memory with input 'x';")
    assert "'scaled'" not in v.detail
    wrong_name = make_suite(**fields, may_alias=("scaled",))
    named = verify(wrong_name, make_impl(returns_scaled_and_input), UNIT)
    assert named.status == "fail" and named.detail.startswith("output 'same' shares memory")
    lenient = make_suite(**fields, may_alias=("same",))
    ok = verify(lenient, make_impl(returns_scaled_and_input), lenient.find_case("small"))
    assert ok.status == "pass", ok.detail


# ---- python backend ------------------------------------------------------------------------


def test_python_backend_gets_lists_and_skips_the_dtype_check(
    suite: Suite, make_impl: MakeImpl
) -> None:
    seen: list[type] = []

    def spy(x: Any, factor: float, opts: Any) -> list[float]:
        seen.append(type(x))
        return python_scale(x, factor, opts)

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
    v = verify(
        suite, make_impl(plain_only_silently, supports=PLAIN_ONLY), suite.find_case("double")
    )
    assert v.status == "fail"
    assert v.detail.startswith("declares mode='double' unsupported but returned a result")


def test_refused_unsupported_option_is_a_skip(suite: Suite, make_impl: MakeImpl) -> None:
    v = verify(
        suite, make_impl(plain_only_refusing, supports=PLAIN_ONLY), suite.find_case("double")
    )
    assert v.status == "skip"
    assert v.detail == (
        "unsupported convention mode='double' (refused as required: "
        "ValueError: mode='double' is not supported)"
    )


def test_unsupported_option_raising_something_else_is_an_error(
    suite: Suite, make_impl: MakeImpl
) -> None:
    v = verify(
        suite, make_impl(raises_zero_division, supports=PLAIN_ONLY), suite.find_case("double")
    )
    assert v.status == "error"
    assert "must raise ValueError, raised ZeroDivisionError" in v.detail


def test_the_default_is_always_run_and_unnarrowed_flags_run_every_value(
    suite: Suite, make_impl: MakeImpl
) -> None:
    narrowed = make_impl(plain_only_refusing, supports=PLAIN_ONLY)
    assert verify(suite, narrowed, suite.find_case("small")).status == "pass"
    # without ``supports`` every declared value is handled, so "double" is run and judged
    assert verify(suite, make_impl(scale), suite.find_case("double")).status == "pass"
    v = verify(suite, make_impl(plain_only_refusing), suite.find_case("double"))
    assert v.status == "error"
    assert v.detail == "raised ValueError: mode='double' is not supported"
    wrong = verify(suite, make_impl(plain_only_silently), suite.find_case("double"))
    assert wrong.status == "fail" and wrong.detail.startswith("5/5 elements differ")


def test_implementations_receive_one_options_record_positionally(
    suite: Suite, make_impl: MakeImpl
) -> None:
    seen: list[Any] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append((args, kwargs))
        return scale(*args)

    for name in ("small", "double"):
        assert verify(suite, make_impl(spy), suite.find_case(name)).status == "pass"
    (small_args, small_kw), (double_args, double_kw) = seen
    assert small_kw == double_kw == {}
    assert len(small_args) == len(double_args) == 3
    assert small_args[2] == suite.options() and small_args[2].changed() == {}
    assert isinstance(double_args[2], suite.options)
    assert double_args[2].mode == "double" and double_args[2].changed() == {"mode": "double"}


def test_narrowed_registration_refuses_other_values_when_called_directly(
    suite: Suite, make_impl: MakeImpl
) -> None:
    register = implementation("toy_scale", "numpy", "narrow", supports={"mode": ["plain"]})
    narrowed = register(plain_only_silently)
    assert narrowed is not plain_only_silently
    assert narrowed.__name__ == "plain_only_silently"
    x = np.arange(3.0)
    np.testing.assert_array_equal(narrowed(x, 2.0, suite.options()), x * 2.0)
    with pytest.raises(ValueError) as info:
        narrowed(x, 2.0, suite.options(mode="double"))
    message = "toy_scale/numpy/narrow does not support mode='double' (it handles 'plain')"
    assert str(info.value) == message
    # the function that silently ran "plain" now refuses as the verifier requires
    impl = make_impl(narrowed, supports=PLAIN_ONLY)
    v = verify(suite, impl, suite.find_case("double"))
    assert v.status == "skip"
    assert v.detail == (
        f"unsupported convention mode='double' (refused as required: ValueError: {message})"
    )
    assert verify(suite, impl, suite.find_case("small")).status == "pass"


# ---- error cases ---------------------------------------------------------------------------


def test_error_case_passes_on_right_exception_and_message(
    suite: Suite, make_impl: MakeImpl
) -> None:
    v = verify(suite, make_impl(check_1d(SHAPE_MESSAGE)), suite.find_case("not_1d"))
    assert v.status == "pass"
    assert v.case_kind == "error"
    assert v.note == f"raised ValueError: {SHAPE_MESSAGE}"
    # the declaration's own check raises exactly that
    assert verify(suite, make_impl(), suite.find_case("not_1d")).note == v.note


def test_error_case_with_wrong_message_fails(suite: Suite, make_impl: MakeImpl) -> None:
    v = verify(suite, make_impl(check_1d("bad input")), suite.find_case("not_1d"))
    assert v.status == "fail"
    assert v.detail == (
        "raised ValueError but the message 'bad input' does not match 'x must have shape'"
    )


def test_error_case_with_wrong_exception_fails(suite: Suite, make_impl: MakeImpl) -> None:
    v = verify(suite, make_impl(raises_zero_division), suite.find_case("not_1d"))
    assert v.status == "fail"
    assert v.detail == (
        "must raise ValueError matching 'x must have shape', raised ZeroDivisionError: nope"
    )


def test_error_case_without_raising_fails(suite: Suite, make_impl: MakeImpl) -> None:
    v = verify(suite, make_impl(plain_only_silently), suite.find_case("not_1d"))
    assert v.status == "fail"
    assert v.detail == "must raise ValueError matching 'x must have shape', returned normally"


def test_error_case_ignores_the_size_cap(suite: Suite, make_impl: MakeImpl) -> None:
    impl = make_impl(check_1d(SHAPE_MESSAGE), max_flops=1.0)
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
    v = verify(suite, make_impl(lambda x, factor, opts: np.zeros_like(x)), case)
    assert v.status == "error"
    assert v.detail.startswith("vacuous case: the tolerance alone would accept an all-zero")


def test_oracle_raising_on_a_regular_case_is_a_suite_error(
    suite: Suite, make_impl: MakeImpl
) -> None:
    case = Case("matrix", {"shape": [2, 2], "seed": 1})
    v = verify(suite, make_impl(scale), case)
    assert v.status == "error"
    assert v.detail == (
        "the suite's oracle raised ValueError: x must have shape (N,), got (2, 2) on "
        "this case (a suite bug, not the implementation's)"
    )


def test_size_cap_skips_without_calling(suite: Suite, make_impl: MakeImpl) -> None:
    calls: list[int] = []

    def counted(x: Any, factor: float, opts: Any) -> Any:
        calls.append(1)
        return scale(x, factor, opts)

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
