"""Tests of harness.comparators: default tolerances and the Close, Exact and Outputs comparators."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.comparators import (
    Close,
    Comparator,
    Comparison,
    Exact,
    Outputs,
    default_tolerance,
)
from harness.spec import Case, Tolerance

F64 = Case("c64", {"n": 4})
F32 = Case("c32", {"n": 4, "dtype": "float32"})
TOL = Tolerance(rtol=1e-3, atol=0.0, reason="test")


def close(actual: object, expected: object, tol: Tolerance = TOL) -> Comparison:
    return Close()(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), {}, F64, tol)


# ---- default_tolerance ---------------------------------------------------------------------


def test_float32_tolerance_grows_with_sqrt_of_reduction_length() -> None:
    tol = default_tolerance("float32", reduction=100)
    assert tol.rtol == pytest.approx(10 * 10 * 2.0**-24, rel=1e-12)
    assert tol.atol == tol.rtol
    assert "K=100" in tol.reason


def test_float64_tolerance_has_a_floor_of_1e_10() -> None:
    assert default_tolerance("float64").rtol == 1e-10
    assert default_tolerance("float64", reduction=10**4).rtol == 1e-10
    big = default_tolerance("float64", reduction=10**14)
    assert big.rtol == pytest.approx(10 * 1e7 * 2.0**-53)


def test_atol_is_rtol_times_scale() -> None:
    tol = default_tolerance("float16", reduction=4, scale=3.0)
    assert tol.rtol == pytest.approx(10 * 2 * 2.0**-11)
    assert tol.atol == pytest.approx(3 * tol.rtol)
    assert "atol = rtol*3" in tol.reason


def test_non_float_dtypes_are_compared_exactly() -> None:
    tol = default_tolerance("int64", reduction=1000)
    assert (tol.rtol, tol.atol) == (0.0, 0.0)
    assert "exactly" in tol.reason


def test_close_tolerance_uses_reduction_scale_and_override() -> None:
    comparator = Close(reduction=lambda case: case.params["k"], scale=lambda case: 10.0)
    tol = comparator.tolerance(Case("k", {"k": 16, "dtype": "float32"}))
    assert tol.rtol == pytest.approx(10 * 4 * 2.0**-24)
    assert tol.atol == pytest.approx(10 * tol.rtol)
    fixed = Tolerance(0.5, 0.25, "documented")
    assert Close(override=lambda case: fixed).tolerance(F32) is fixed
    assert Close().expected_dtype(F32) == "float32"


# ---- Close ---------------------------------------------------------------------------------


def test_close_passes_within_tolerance_and_reports_the_margin() -> None:
    expected = np.array([1.0, -2.0, 4.0])
    result = close(expected * (1 + 5e-4), expected)
    assert result.passed
    assert result.mismatches == 0 and result.total == 3
    assert result.detail == ""
    assert result.max_rel == pytest.approx(5e-4)
    assert result.max_abs == pytest.approx(4 * 5e-4)
    assert result.error_ratio == pytest.approx(0.5)
    assert result.error_ratio <= 1


def test_close_fails_outside_tolerance_with_count_index_and_numbers() -> None:
    result = close([1.0, 2.5, 3.0, 4.4], [1.0, 2.0, 3.0, 4.0])
    assert not result.passed
    assert (result.mismatches, result.total) == (2, 4)
    assert result.worst_index == (1,)
    assert result.max_abs == pytest.approx(0.5)
    assert result.max_rel == pytest.approx(0.25)
    assert result.error_ratio == pytest.approx(0.5 / 2e-3)
    assert result.detail.startswith("2/4 elements differ; first at (1,): got 2.5, expected 2.0")
    assert "worst abs 0.5" in result.detail
    assert "worst rel 0.25" in result.detail
    assert "rtol 0.001" in result.detail


def test_close_reports_the_multidimensional_index() -> None:
    expected = np.arange(6.0).reshape(2, 3)
    actual = expected.copy()
    actual[1, 2] += 1.0
    result = close(actual, expected)
    assert result.worst_index == (1, 2)
    assert "first at (1, 2)" in result.detail


def test_close_accepts_nan_exactly_where_the_oracle_has_nan() -> None:
    assert close([1.0, math.nan], [1.0, math.nan]).passed
    missing = close([1.0, 7.0], [1.0, math.nan])
    assert not missing.passed and missing.mismatches == 1 and missing.worst_index == (1,)
    assert missing.error_ratio == math.inf
    extra = close([math.nan, 2.0], [1.0, 2.0])
    assert not extra.passed and extra.worst_index == (0,)
    assert "got nan, expected 1.0" in extra.detail


def test_close_names_nan_and_infinity_mismatches() -> None:
    got_nan = close([1.0, math.nan, math.nan, 4.0], [1.0, 2.0, 3.0, 4.0])
    assert "2 NaN where the oracle has a number" in got_nan.detail
    assert "where the oracle has NaN" not in got_nan.detail
    assert "finite values off" not in got_nan.detail
    missing = close([1.0, 7.0], [1.0, math.nan])
    assert "1 numbers where the oracle has NaN" in missing.detail
    assert "NaN where the oracle has a number" not in missing.detail
    both = close([math.nan, 7.0, math.inf, 9.0], [1.0, math.nan, 3.0, 4.0])
    assert both.detail.startswith("4/4 elements differ; first at (0,): got nan, expected 1.0")
    assert "1 NaN where the oracle has a number" in both.detail
    assert "1 numbers where the oracle has NaN" in both.detail
    assert "1 infinite values that differ" in both.detail
    assert "1 finite values off: worst abs 5" in both.detail


def test_close_requires_infinities_to_match() -> None:
    assert close([math.inf, -math.inf, 1.0], [math.inf, -math.inf, 1.0]).passed
    wrong_sign = close([-math.inf, 1.0], [math.inf, 1.0])
    assert not wrong_sign.passed and wrong_sign.worst_index == (0,)
    assert wrong_sign.error_ratio == math.inf
    finite_for_inf = close([1.0, 1e308], [1.0, math.inf])
    assert not finite_for_inf.passed and finite_for_inf.worst_index == (1,)


def test_close_with_zero_tolerance_is_exact() -> None:
    zero = Tolerance(0.0, 0.0, "exact")
    assert close([1.0, 2.0], [1.0, 2.0], zero).passed
    result = close([1.0, 2.0 + 2**-51], [1.0, 2.0], zero)
    assert not result.passed and result.error_ratio == math.inf


def test_close_on_empty_arrays_passes_with_zero_total() -> None:
    result = close(np.empty((0, 3)), np.empty((0, 3)))
    assert result.passed and result.total == 0


def test_vacuous_when_tolerance_alone_accepts_zeros() -> None:
    comparator = Close()  # float64: atol = 1e-10
    assert comparator.vacuous(np.full(4, 1e-12), F64)
    assert comparator.vacuous(np.array([0.0, 3e-11, -1e-13]), F64)


def test_not_vacuous_for_exact_zeros_empty_or_real_values() -> None:
    comparator = Close()
    assert not comparator.vacuous(np.zeros(5), F64)
    assert not comparator.vacuous(np.empty(0), F64)
    assert not comparator.vacuous(np.array([1e-12, 1.0]), F64)
    assert not comparator.vacuous(np.array([math.nan, math.inf]), F64)


# ---- Exact ---------------------------------------------------------------------------------


def test_exact_passes_on_equal_values() -> None:
    result = Exact()(np.array([1, 2, 3]), np.array([1, 2, 3]), {}, F64, TOL)
    assert result.passed and result.total == 3 and result.error_ratio == 0.0


def test_exact_fails_with_first_difference() -> None:
    result = Exact()(np.array([[1, 2], [3, 5]]), np.array([[1, 2], [3, 4]]), {}, F64, TOL)
    assert not result.passed
    assert (result.mismatches, result.total) == (1, 4)
    assert result.worst_index == (1, 1)
    assert result.detail == "1/4 values differ; first at (1, 1): got 5, expected 4"
    assert result.error_ratio == math.inf


def test_exact_reports_a_wrong_shape_inside_outputs_instead_of_raising() -> None:
    both = Outputs({"index": Exact(), "value": Close()})
    actual = (np.array([1, 2, 3]), np.array([1.0, 2.0]))
    expected = (np.array([1, 2]), np.array([1.0, 2.0]))
    result = both(actual, expected, {}, F64, TOL)
    assert not result.passed
    assert "output 'index': shape (3,), expected (2,)" in result.detail


def test_comparator_interface_defaults() -> None:
    assert isinstance(Close(), Comparator) and isinstance(Exact(), Comparator)
    assert Close().dtypes(F32, ["out"]) == {"out": "float32"}
    assert Exact().dtypes(F32, ["a", "b"]) == {"a": "int64", "b": "int64"}
    assert not Exact().vacuous(np.zeros(3, dtype=np.int64), F64)
    assert not Close.compares_shape and not Exact.compares_shape
    assert not Outputs.compares_shape

    class Incomplete(Comparator):
        def expected_dtype(self, case: Case) -> str | None:
            return None

    with pytest.raises(TypeError, match="abstract"):
        Incomplete()  # type: ignore[abstract]


def test_exact_tolerance_and_dtype() -> None:
    tol = Exact().tolerance(F64)
    assert (tol.rtol, tol.atol) == (0.0, 0.0)
    assert Exact().expected_dtype(F64) == "int64"
    assert Exact(dtype="bool").expected_dtype(F64) == "bool"


# ---- Outputs -------------------------------------------------------------------------------


def outputs() -> Outputs:
    return Outputs({"scores": Close(), "labels": Exact()})


def test_outputs_pass_when_every_part_passes() -> None:
    scores, labels = np.array([0.5, 0.25]), np.array([3, 1])
    result = outputs()((scores, labels), (scores.copy(), labels.copy()), {}, F64, TOL)
    assert result.passed
    assert result.total == 4
    assert result.detail == ""


def test_outputs_name_the_failing_output_and_aggregate() -> None:
    expected = (np.array([0.5, 0.25, 1.0]), np.array([3, 1]))
    actual = (np.array([0.5, 0.25, 1.0]), np.array([3, 2]))
    result = outputs()(actual, expected, {}, F64, TOL)
    assert not result.passed
    assert result.detail.startswith("output 'labels': 1/2 values differ; first at (1,)")
    assert "'scores'" not in result.detail
    assert (result.mismatches, result.total) == (1, 5)
    assert result.worst_index == (1,)
    assert result.error_ratio == math.inf
    assert result.note == "worst output 'labels'"


def test_outputs_report_every_failing_output() -> None:
    expected = (np.array([1.0, 2.0]), np.array([3, 1]))
    actual = (np.array([1.0, 9.0]), np.array([0, 1]))
    result = outputs()(actual, expected, {}, F64, TOL)
    assert "output 'scores': 1/2 elements differ" in result.detail
    assert "output 'labels': 1/2 values differ" in result.detail
    assert result.mismatches == 2
    assert result.max_abs == pytest.approx(7.0)


def test_outputs_tolerance_dtypes_and_vacuous() -> None:
    comparator = outputs()
    tol = comparator.tolerance(F32)
    assert tol.rtol == pytest.approx(10 * 2.0**-24)
    assert tol.reason.startswith("scores: float32 default") and "labels: integers" in tol.reason
    assert comparator.dtypes(F32, ["scores", "labels"]) == {
        "scores": "float32",
        "labels": "int64",
    }
    assert comparator.dtypes(F32, ["labels"]) == {"labels": "int64"}
    assert comparator.expected_dtype(F32) is None
    assert comparator.vacuous((np.full(2, 1e-12), np.array([1, 2])), F64)
    assert not comparator.vacuous((np.full(2, 1.0), np.array([0, 0])), F64)
