"""hungarian_assignment: the suite catches each classic mistake, and accepts any optimum.

Every wrong variant below is a small, plausible implementation built on scipy with one
mistake; verify must flag it with a diagnosis that names the mistake, while the correct
adapter (or the same variant on a case the mistake does not touch) passes. No randomness
beyond the suite's seeded cases.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from harness.registry import Implementation
from harness.spec import Case
from harness.verify import Verdict, case_inputs, oracle_output, verify
from suites.hungarian_assignment import SUITE, AssignmentOptions, hungarian_assignment

Fn = Callable[[Any, AssignmentOptions], Any]


def run(fn: Fn, case_name: str) -> Verdict:
    impl = Implementation("hungarian_assignment", "numpy", fn.__name__, fn)
    case = SUITE.find_case(case_name)
    return verify(SUITE, impl, case)


def _minimised(cost: Any, opts: AssignmentOptions) -> np.ndarray:
    c = np.asarray(cost, dtype=np.float64)
    return np.where(np.isposinf(c), np.inf, -c) if opts.maximize else c


def correct(cost: Any, opts: AssignmentOptions) -> Any:
    rows, cols = linear_sum_assignment(_minimised(cost, opts))
    return rows.astype(np.int64), cols.astype(np.int64)


# ---- any optimum passes: indices are not compared ---------------------------------------------


def other_optimum(cost: Any, opts: AssignmentOptions) -> Any:
    """Solves the column-reversed matrix: the same optimum, reached by other pairs on ties."""
    c = _minimised(cost, opts)[:, ::-1]
    rows, cols = linear_sum_assignment(c)
    return rows.astype(np.int64), (c.shape[1] - 1 - cols).astype(np.int64)


@pytest.mark.parametrize(
    "case_name", ["all_equal", "ties_three_levels_int64", "all_equal_tall_int64"]
)
def test_an_alternative_optimum_passes(case_name: str) -> None:
    case = SUITE.find_case(case_name)
    assert isinstance(case, Case)
    _, want = oracle_output(SUITE, case)
    _, got = other_optimum(case_inputs(SUITE, case)["cost"], AssignmentOptions(**case.options))
    assert not np.array_equal(got, want), "the case must have several optima"
    v = run(other_optimum, case_name)
    assert v.status == "pass", v.detail
    assert v.error_ratio == 0.0


# ---- not optimal, not a matching, not scipy's order --------------------------------------------


def greedy(cost: Any, opts: AssignmentOptions) -> Any:
    """Each row in turn takes its cheapest unused column: valid, but not optimal."""
    c = _minimised(cost, opts).copy()
    cols = []
    for row in c:
        j = int(np.argmin(row))
        cols.append(j)
        c[:, j] = np.inf
    return np.arange(len(cols), dtype=np.int64), np.array(cols, dtype=np.int64)


def row_argmin(cost: Any, opts: AssignmentOptions) -> Any:
    """Every row its own cheapest column: columns repeat."""
    c = _minimised(cost, opts)
    return np.arange(c.shape[0], dtype=np.int64), c.argmin(axis=1).astype(np.int64)


def rows_descending(cost: Any, opts: AssignmentOptions) -> Any:
    rows, cols = correct(cost, opts)
    return rows[::-1].copy(), cols[::-1].copy()


def test_greedy_is_not_optimal() -> None:
    assert run(correct, "square_f64").status == "pass"
    v = run(greedy, "square_f64")
    assert v.status == "fail" and v.detail.startswith("not optimal: total cost"), v.detail
    assert v.error_ratio > 1


def test_a_repeated_column_is_not_a_matching() -> None:
    v = run(row_argmin, "square_f64")
    assert (v.status, v.detail) == ("fail", "cols repeat an index: not a matching")


def test_rows_must_ascend() -> None:
    v = run(rows_descending, "wide_f64")
    assert (v.status, v.detail) == ("fail", "rows must be strictly ascending (scipy's convention)")


# ---- conventions: forbidden pairs, maximize, rectangular orientation ------------------------


def inf_as_zero(cost: Any, opts: AssignmentOptions) -> Any:
    """Treats +inf as 'no cost' (nan_to_num): uses forbidden pairs."""
    return correct(np.nan_to_num(np.asarray(cost, dtype=np.float64), posinf=0.0), opts)


def ignores_maximize(cost: Any, opts: AssignmentOptions) -> Any:
    rows, cols = linear_sum_assignment(cost)
    return rows.astype(np.int64), cols.astype(np.int64)


def scipy_maximize_flag(cost: Any, opts: AssignmentOptions) -> Any:
    """scipy's own maximize=True negates +inf into an invalid -inf."""
    rows, cols = linear_sum_assignment(cost, maximize=opts.maximize)
    return rows.astype(np.int64), cols.astype(np.int64)


def transposed_not_swapped_back(cost: Any, opts: AssignmentOptions) -> Any:
    """Solves a tall matrix on its transpose and returns the transpose's (rows, cols)."""
    c = _minimised(cost, opts)
    return correct(c.T if c.shape[0] > c.shape[1] else c, AssignmentOptions())


def transposed_not_sorted(cost: Any, opts: AssignmentOptions) -> Any:
    """Swaps back after solving the transpose but keeps the transpose's order."""
    c = _minimised(cost, opts)
    if c.shape[0] <= c.shape[1]:
        return correct(c, AssignmentOptions())
    cols, rows = correct(c.T, AssignmentOptions())
    return rows, cols


def test_a_forbidden_pair_is_caught() -> None:
    assert run(correct, "inf_entries").status == "pass"
    v = run(inf_as_zero, "inf_entries")
    assert v.status == "fail" and "has a forbidden (infinite) cost" in v.detail, v.detail


def test_maximize_ignored_is_not_optimal() -> None:
    assert run(ignores_maximize, "square_f64").status == "pass"
    v = run(ignores_maximize, "maximize_f64")
    assert v.status == "fail" and v.detail.startswith("not optimal"), v.detail
    assert run(correct, "maximize_f64").status == "pass"


def test_scipys_maximize_flag_refuses_forbidden_pairs() -> None:
    assert run(scipy_maximize_flag, "maximize_f64").status == "pass"
    v = run(scipy_maximize_flag, "inf_entries_maximize")
    assert v.status == "error" and "invalid numeric entries" in v.detail, v.detail


@pytest.mark.parametrize(
    ("fn", "detail"),
    [
        (transposed_not_swapped_back, "cols out of range [0, 33)"),
        (transposed_not_sorted, "rows must be strictly ascending (scipy's convention)"),
    ],
)
def test_a_tall_matrix_transposed_wrongly_is_caught(fn: Fn, detail: str) -> None:
    assert run(fn, "wide_f64").status == "pass"  # n < m: nothing to transpose
    v = run(fn, "tall_f64")
    assert (v.status, v.detail) == ("fail", detail)


# ---- must raise -----------------------------------------------------------------------------


def no_feasibility_check(cost: Any, opts: AssignmentOptions) -> Any:
    """Replaces +inf by a large finite cost: always returns a matching."""
    c = _minimised(cost, opts)
    return correct(np.where(np.isinf(c), 1e300, c), AssignmentOptions())


def no_argument_check(cost: Any, opts: AssignmentOptions) -> Any:
    return correct(cost, opts)


def test_an_infeasible_matrix_must_raise() -> None:
    assert run(correct, "infeasible_square").status == "pass"  # scipy raises the same words
    v = run(no_feasibility_check, "infeasible_tall")
    assert v.status == "fail" and v.detail.startswith("must raise ValueError"), v.detail


def test_nan_and_minus_inf_must_name_the_argument() -> None:
    for name in ("cost:broken_rule@0", "cost:broken_rule@1", "neg_inf_maximize"):
        v = verify(SUITE, Implementation("hungarian_assignment", "numpy", "x", no_argument_check),
                   SUITE.find_case(name))  # fmt: skip
        assert v.status == "fail", (name, v.detail)
        assert "does not match" in v.detail or "returned normally" in v.detail, v.detail


# ---- what every suite must catch -------------------------------------------------------------


def empty_rows_of_nothing(cost: Any, opts: AssignmentOptions) -> Any:
    """One (empty) column list per row: shape (N, 0) instead of (0,)."""
    n = np.asarray(cost).shape[0]
    empty = np.empty((n, 0), dtype=np.int64)
    return (empty, empty) if np.asarray(cost).size == 0 else correct(cost, opts)


def aliases_input(cost: Any, opts: AssignmentOptions) -> Any:
    """Returns its column indices in a view of an int64 input."""
    rows, cols = correct(cost, opts)
    return rows, np.asarray(cost).reshape(-1)[: len(cols)]


def float32_arithmetic(cost: Any, opts: AssignmentOptions) -> Any:
    return correct(np.asarray(cost, dtype=np.float32), opts)


def tiled_rows(cost: Any, opts: AssignmentOptions) -> Any:
    """Solves blocks of 256 rows one after the other on the columns still unused: exact
    within the first block, suboptimal past it."""
    c = _minimised(cost, opts)
    unused, rows, cols = np.arange(c.shape[1]), [], []
    for start in range(0, c.shape[0], 256):
        r, k = linear_sum_assignment(c[start : start + 256][:, unused])
        rows.append(start + r)
        cols.append(unused[k])
        unused = np.delete(unused, k)
    return np.concatenate(rows).astype(np.int64), np.concatenate(cols).astype(np.int64)


def test_wrong_shape_on_an_empty_matrix() -> None:
    assert run(empty_rows_of_nothing, "square_f64").status == "pass"
    v = run(empty_rows_of_nothing, "empty_cols")
    assert v.status == "fail" and v.detail.startswith("rows and cols must be 1-D"), v.detail


def test_an_output_aliasing_the_input() -> None:
    v = run(aliases_input, "integer_int64")
    assert v.status == "fail" and "output 'cols' shares memory with input 'cost'" in v.detail


def test_float32_arithmetic_on_float64_costs() -> None:
    assert run(float32_arithmetic, "square_f32").status == "pass"
    for name in ("offset_1e15", "offset_1e15_wide", "offset_1e15_maximize_tall"):
        v = run(float32_arithmetic, name)
        assert v.status == "fail" and v.detail.startswith("not optimal"), (name, v.detail)
        assert v.rtol == 0.0 and v.atol == 0.0  # totals are exact there


def test_a_tiled_solver_wrong_past_its_first_block() -> None:
    assert run(tiled_rows, "tall_f64").status == "pass"  # one block: exact
    v = run(tiled_rows, "multi_block")
    assert v.status == "fail" and v.detail.startswith("not optimal"), v.detail


# ---- the oracle itself --------------------------------------------------------------------------


def test_oracle_matches_scipy_on_every_verify_case() -> None:
    for case in SUITE.cases:
        cost = case_inputs(SUITE, case)["cost"]
        opts = AssignmentOptions(**case.options)
        rows, cols = hungarian_assignment(cost, opts)
        ref_rows, ref_cols = correct(cost, opts)
        c = _minimised(cost, opts)
        assert rows.dtype == cols.dtype == np.int64
        assert np.array_equal(rows, ref_rows), case.name
        assert c[rows, cols].sum() == c[ref_rows, ref_cols].sum(), case.name


def test_python_lists_in_and_out() -> None:
    from implementations.hungarian_assignment.python_sap import hungarian_assignment as py

    cost = [[4, 1, 3], [2, 0, 5], [3, 2, 2]]
    assert py(cost, AssignmentOptions()) == ([0, 1, 2], [1, 0, 2])
    assert py([[1.0, float("inf")], [2.0, 3.0], [0.5, 9.0]], AssignmentOptions()) == (
        [1, 2],
        [1, 0],
    )
    assert py([], AssignmentOptions()) == ([], [])
