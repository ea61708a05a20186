"""kmeans_lloyd: the suite catches the classic mistakes of a Lloyd's k-means.

Every wrong variant below is a small NumPy Lloyd loop with one deliberate mistake, run by
``harness.verify.verify`` on one of the suite's own cases; the correct loop passes the same
cases. No randomness beyond the suite's fixed case seeds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.cases import Case
from harness.registry import Implementation
from harness.verify import Verdict, case_inputs, oracle_output, verify
from suites.kmeans_lloyd import (
    SUITE,
    KMeansOptions,
    check_inputs,
    empty_cluster_error,
    kmeans_lloyd,
    threshold,
)


def _first_min(scores: Any) -> Any:
    return np.argmin(scores, axis=1)


def lloyd(
    x: Any,
    centers: Any,
    max_iter: int,
    tol: float,
    opts: KMeansOptions,
    *,
    validate: bool = True,
    check_k: bool = True,
    pick: Callable[[Any], Any] = _first_min,
    compute: Any = None,  # dtype of the distance arithmetic (None: x's)
    sums_dtype: Any = np.float64,
    guard_empty: bool = True,
    honour_raise: bool = True,
    honour_relocate: bool = True,
    relocate_order: Callable[[Any], Any] = lambda dist: np.argsort(-dist, kind="stable"),
    honour_final: bool = True,
    honour_scale: bool = True,
    iterations: Callable[[int], range] = lambda m: range(1, m + 1),
    report: Callable[[int], int] = lambda t: t,
    row_block: int = 0,  # > 0: rows past the first block are never assigned (stay 0)
    centre_tile: int = 0,  # > 0: only the first tile of centres is searched
    empty_x_means_no_points: bool = False,
    return_input_if_still: bool = False,
    write_input: bool = False,
) -> Any:
    """A straightforward Lloyd loop; each keyword argument switches one mistake on."""
    if validate:
        (check_inputs if check_k else _args_only)(x, centers, max_iter, tol)
    d = x.shape[1]
    if empty_x_means_no_points and x.size == 0:  # D = 0 taken for N = 0
        return centers.copy(), np.empty(0, dtype=np.int64), x.dtype.type(0), 0
    scale = np.var(x, axis=0).mean() if d else 0.0
    bound = threshold(scale, tol, opts if honour_scale else KMeansOptions())
    c = centers if write_input else centers.copy()
    previous = None
    for iteration in iterations(max_iter):
        labels = _assign(x, c, compute, pick, row_block, centre_tile)
        counts = np.bincount(labels, minlength=len(c))
        if honour_raise and opts.empty_cluster == "raise" and not counts.all():
            raise empty_cluster_error(int(np.argmin(counts)), iteration)
        owner = labels  # who each point counts for in this update
        if honour_relocate and opts.empty_cluster == "relocate" and not counts.all():
            dist = np.sum((x - c[labels]).astype(np.float64) ** 2, axis=1)
            if dist.max() > 0:  # sklearn: the empty ones take the farthest points
                empty = np.flatnonzero(counts == 0)
                owner = labels.copy()
                owner[relocate_order(dist)[: len(empty)]] = empty
                counts = np.bincount(owner, minlength=len(c))
        sums = np.zeros((len(c), d), dtype=sums_dtype)
        if sums_dtype == np.float64:
            for f in range(d):
                sums[:, f] = np.bincount(owner, weights=x[:, f], minlength=len(c))
        else:  # one point after the other, in sums_dtype
            np.add.at(sums, owner, x.astype(sums_dtype))
        with np.errstate(invalid="ignore", divide="ignore"):
            means = (sums / counts[:, None]).astype(x.dtype)
        new = np.where((counts > 0)[:, None], means, c) if guard_empty else means
        shift = float(np.sum((new.astype(np.float64) - c) ** 2))
        if return_input_if_still and shift == 0:
            return centers, labels, _inertia(x, centers, labels), report(iteration)
        if write_input:
            c[...] = new
        else:
            c = new
        if shift <= bound or (previous is not None and np.array_equal(labels, previous)):
            break
        previous = labels
    if honour_final and opts.final_assignment:
        labels = _assign(x, c, compute, pick, row_block, centre_tile)
    return c, labels, _inertia(x, c, labels), report(iteration)


def _args_only(x: Any, centers: Any, max_iter: int, tol: float) -> None:
    from suites.kmeans_lloyd import ARGS

    ARGS.check(x, centers, max_iter, tol)


def _assign(x: Any, c: Any, compute: Any, pick: Any, row_block: int, centre_tile: int) -> Any:
    xs, cs = (x, c) if compute is None else (x.astype(compute), c.astype(compute))
    if centre_tile:
        cs = cs[:centre_tile]
    scores = np.sum(cs * cs, axis=1) - 2 * (xs @ cs.T)
    labels = pick(scores).astype(np.int64)
    if row_block:
        labels[row_block:] = 0
    return labels


def _inertia(x: Any, c: Any, labels: Any) -> Any:
    diff = (x - c[labels]).astype(np.float64)
    return x.dtype.type(np.sum(diff * diff))


def run(case_name: str, **mistake: Any) -> Verdict:
    def fn(x: Any, centers: Any, max_iter: int, tol: float, opts: KMeansOptions) -> Any:
        return lloyd(x, centers, max_iter, tol, opts, **mistake)

    impl = Implementation("kmeans_lloyd", "numpy", "test_" + ("_".join(mistake) or "ok"), fn)
    return verify(SUITE, impl, SUITE.find_case(case_name))


def assert_flagged(verdict: Verdict, *words: str) -> None:
    assert verdict.status in ("fail", "error"), verdict
    for word in words:
        assert word in verdict.detail, verdict.detail


# ---- the correct loop passes ------------------------------------------------------------------

CASES = [c.name for c in SUITE.cases]


@pytest.mark.parametrize("name", CASES)
def test_the_straightforward_loop_passes_every_verify_case(name: str) -> None:
    verdict = run(name)
    assert verdict.status == "pass", verdict.detail


@pytest.mark.parametrize("name", [e.name for e in SUITE.errors])
def test_the_straightforward_loop_raises_on_every_declared_error_case(name: str) -> None:
    assert run(name).status == "pass"


# ---- ties ------------------------------------------------------------------------------------


def _tie_case() -> tuple[Case, dict[str, Any], tuple[Any, ...]]:
    """Five points on a line, centres 1 and 3: point 2 is exactly equidistant."""
    case = Case("tie", {"n": 5, "d": 1, "k": 2, "dtype": "float32"}, {}, "custom")
    x = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]], dtype=np.float32)
    centres = np.array([[1.0], [3.0]], dtype=np.float32)
    labels = np.array([0, 0, 0, 1, 1])
    inertia = np.float32(np.sum((x - centres[labels]) ** 2))
    return case, {"x": x}, (centres, labels, inertia, 2)


def test_partition_accepts_a_flip_at_a_tie_and_rejects_one_far_from_it() -> None:
    case, inputs, expected = _tie_case()
    tol = SUITE.compare.tolerance(case)
    centres, labels, inertia, n_iter = expected
    at_tie = labels.copy()
    at_tie[2] = 1  # equidistant: same inertia, either label is right
    result = SUITE.compare((centres, at_tie, inertia, n_iter), expected, inputs, case, tol)
    assert result.passed and "each at a near-tie" in result.note
    far = labels.copy()
    far[0] = 1  # point 0 is 1 from centre 0 and 3 from centre 1
    result = SUITE.compare((centres, far, inertia, n_iter), expected, inputs, case, tol)
    assert not result.passed
    assert "labels differ away from any tie" in result.detail and "point 0" in result.detail


def test_a_flip_at_a_tie_does_not_excuse_another_iteration_count() -> None:
    case, inputs, expected = _tie_case()
    tol = SUITE.compare.tolerance(case)
    centres, labels, inertia, _ = expected
    result = SUITE.compare((centres, labels, inertia, 3), expected, inputs, case, tol)
    assert not result.passed and "n_iter 3" in result.detail


def test_the_oracle_gives_exact_ties_to_the_lowest_centre_index() -> None:
    case = SUITE.find_case("equidistant_f32")
    assert isinstance(case, Case)
    inputs = case_inputs(SUITE, case)
    x, c = inputs["x"].astype(np.float64), inputs["centers"].astype(np.float64)
    first = kmeans_lloyd(x, c, 1, 0.0, KMeansOptions(final_assignment=False))[1]
    d2 = ((x[:, None, :] - c[None]) ** 2).sum(axis=2)
    ties = np.flatnonzero(np.sum(d2 == d2.min(axis=1, keepdims=True), axis=1) > 1)
    assert len(ties) == 5  # point 2 of each motif
    for i in ties:
        assert first[i] == np.flatnonzero(d2[i] == d2[i].min())[0]


def _last_of_the_minima(scores: Any) -> Any:
    k = scores.shape[1]
    return k - 1 - np.argmin(scores[:, ::-1], axis=1)


@pytest.mark.parametrize("name", ["equidistant_f32", "duplicate_centre_f32"])
def test_exact_ties_to_the_highest_index_are_caught(name: str) -> None:
    assert run("blobs_f32", pick=_last_of_the_minima).status == "pass"  # no tie there
    assert_flagged(run(name, pick=_last_of_the_minima), "labels differ away from any tie")


# ---- empty clusters ------------------------------------------------------------------------


def _first_min_skipping_nan(scores: Any) -> Any:
    """A compiled loop's strict < never picks a NaN score: labels stay right."""
    return np.nanargmin(scores, axis=1)


def test_an_empty_cluster_divided_by_zero_count_is_caught() -> None:
    assert run("blobs_f32", guard_empty=False).status == "pass"
    # 0/0 leaves a NaN centre; a loop whose < skips NaN keeps every label right
    verdict = run("emptied_mid_run_f32", guard_empty=False, pick=_first_min_skipping_nan)
    assert_flagged(verdict, "centers:", "NaN where the oracle has a number")
    # np.argmin takes NaN for the minimum: every point then joins a NaN centre, and the
    # NaN centre (the cause) is named rather than the labels that follow from it
    verdict = run("emptied_mid_run_f32", guard_empty=False)
    assert_flagged(verdict, "centers:", "NaN where the oracle has a number")


def test_ignoring_empty_cluster_raise_is_caught() -> None:
    assert_flagged(run("empty_cluster_raise", honour_raise=False), "returned normally")


def test_keeping_an_empty_centre_under_relocate_is_caught() -> None:
    verdict = run("relocate_far_centre_f64", honour_relocate=False)
    assert_flagged(verdict, "labels differ away from any tie")


def test_relocating_to_the_nearest_point_is_caught() -> None:
    verdict = run("relocate_far_centre_f32", relocate_order=lambda dist: np.argsort(dist))
    assert_flagged(verdict, "labels differ away from any tie")


def test_relocate_follows_sklearn_on_its_cases() -> None:
    """sklearn's _relocate_empty_clusters_dense is the convention: its KMeans agrees with
    the oracle on the relocate cases (one far point a relocation, no tie that matters)."""
    import warnings

    from sklearn.cluster import KMeans

    for case in SUITE.cases:
        if case.options.get("empty_cluster") != "relocate":
            continue
        inputs = case_inputs(SUITE, case)
        x, centers = inputs["x"], inputs["centers"]
        want = oracle_output(SUITE, case)
        model = KMeans(len(centers), init=centers, n_init=1, max_iter=inputs["max_iter"], tol=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(x)
        assert model.n_iter_ == want[3], case.name
        # float32 cases: sklearn's float32 means against the float64 oracle (|x| <= 60)
        np.testing.assert_allclose(model.cluster_centers_, want[0], rtol=0, atol=1e-4)
        assert np.array_equal(model.labels_, want[1]), case.name


# ---- iteration counts ----------------------------------------------------------------------


def test_one_iteration_too_many_in_the_count_is_caught() -> None:
    assert_flagged(run("blobs_f32", report=lambda t: t + 1), "n_iter 3", "converged after 2")


def test_one_iteration_too_few_in_the_count_is_caught() -> None:
    assert_flagged(run("mixture_f64", report=lambda t: t - 1), "n_iter 7", "converged after 8")


def test_stopping_one_iteration_short_of_max_iter_is_caught() -> None:
    verdict = run("max_iter_cut_f64", iterations=lambda m: range(1, m))
    assert_flagged(verdict)
    assert "centers:" in verdict.detail or "labels differ" in verdict.detail


def test_running_past_max_iter_is_caught() -> None:
    assert_flagged(run("max_iter_cut_no_final_f64", iterations=lambda m: range(1, m + 2)))


def test_skipping_the_final_assignment_is_caught() -> None:
    assert run("max_iter_cut_no_final_f64", honour_final=False).status == "pass"
    assert_flagged(run("max_iter_cut_f64", honour_final=False), "labels differ away from any tie")


def test_an_unscaled_tol_is_caught() -> None:
    assert run("tol_absolute_f64", honour_scale=False).status == "pass"
    assert_flagged(run("tol_variance_f64", honour_scale=False))


# ---- precision -------------------------------------------------------------------------------


def test_float32_sums_of_float64_points_are_caught() -> None:
    assert run("mixture_f64", sums_dtype=np.float64).status == "pass"
    assert_flagged(run("mixture_f64", sums_dtype=np.float32), "centers:", "finite values off")


def test_float32_distances_for_float64_points_are_caught() -> None:
    assert run("near_tie_f64", compute=np.float64).status == "pass"
    verdict = run("near_tie_f64", compute=np.float32)
    assert_flagged(verdict, "labels differ away from any tie")


def test_float32_sums_of_float32_points_pass() -> None:
    """Accumulating in the input's own float32 is within the float32 tolerance."""
    assert run("big_cluster_f32", sums_dtype=np.float32).status == "pass"


# ---- must raise ------------------------------------------------------------------------------


def test_more_centres_than_points_must_raise() -> None:
    assert_flagged(run("more_centers_than_points", check_k=False), "returned normally")


def test_no_centres_must_raise_naming_k() -> None:
    assert_flagged(run("no_centers", validate=False), "does not match")


@pytest.mark.parametrize("name", ["nan_in_x_f64", "x:broken_rule@0", "centers:broken_rule@0"])
def test_nan_data_must_raise(name: str) -> None:
    err = SUITE.find_case(name)
    impl = Implementation(
        "kmeans_lloyd",
        "numpy",
        "no_validation",
        lambda x, c, m, t, o: lloyd(x, c, m, t, o, validate=False),
    )
    assert_flagged(verify(SUITE, impl, err), "returned normally")


# ---- structure: shapes, aliasing, blocks --------------------------------------------------------


def test_a_wrong_shape_on_the_no_features_case_is_caught() -> None:
    verdict = run("no_features", empty_x_means_no_points=True)
    assert_flagged(verdict, "output 'labels' has shape (0,), expected (5,)")


def test_returning_the_input_centres_is_caught() -> None:
    verdict = run("k_equals_n_f32", return_input_if_still=True)
    assert_flagged(verdict, "output 'centers' shares memory with input 'centers'")


def test_updating_the_input_centres_in_place_is_caught() -> None:
    assert_flagged(run("blobs_f32", write_input=True), "modified its input(s) ['centers']")


def test_a_row_blocked_loop_wrong_past_its_first_block_is_caught() -> None:
    assert run("blobs_f32", row_block=4096).status == "pass"  # one block: no harm
    assert_flagged(run("multi_block", row_block=4096))


def test_a_centre_tiled_loop_wrong_past_its_first_tile_is_caught() -> None:
    assert run("blobs_f32", centre_tile=256).status == "pass"  # one tile: no harm
    assert_flagged(run("multi_block", centre_tile=256), "labels differ away from any tie")


# ---- the cases are what their comments say ----------------------------------------------


def test_the_tol_cases_stop_where_their_comment_says() -> None:
    for name, n_iter in (("tol_absolute_f64", 9), ("tol_variance_f64", 14)):
        case = SUITE.find_case(name)
        assert isinstance(case, Case)
        assert oracle_output(SUITE, case)[3] == n_iter


def test_the_emptied_case_empties_clusters_after_the_first_iteration() -> None:
    case = SUITE.find_case("emptied_mid_run_f32")
    assert isinstance(case, Case)
    x, c, *_ = case_inputs(SUITE, case).values()
    keep = KMeansOptions(final_assignment=False)
    first = kmeans_lloyd(x, c, 1, 0.0, keep)[1]
    final = oracle_output(SUITE, case)[1]
    assert np.bincount(first, minlength=len(c)).tolist().count(0) == 1  # the far centre
    assert np.bincount(final, minlength=len(c)).tolist().count(0) == 4  # + 3 middle ones


def _decision_margins(case: Case) -> tuple[float, int]:
    """Along the oracle's run: the smallest gap between the nearest and the second nearest
    squared distance, relative to |x|^2 + max |c|^2 (the scale of float32 rounding in any
    formulation), over every assignment; and the number of exact ties met."""
    inputs = case_inputs(SUITE, case)
    x, c = inputs["x"].astype(np.float64), inputs["centers"].astype(np.float64)
    opts = KMeansOptions.build(case.options)
    worst, ties = np.inf, 0
    for t in range(oracle_output(SUITE, case)[3] + 1):  # + the final assignment
        c = kmeans_lloyd(x, c, 1, 0.0, opts)[0] if t else c  # one iteration at a time
        if len(c) < 2 or not x.shape[1]:
            continue
        d2 = sum((x[:, f, None] - c[None, :, f]) ** 2 for f in range(x.shape[1]))
        d2 = np.partition(d2, 1, axis=1)  # direct distances, the two smallest first
        gap = (d2[:, 1] - d2[:, 0]) / (np.sum(x * x, axis=1) + np.max(np.sum(c * c, axis=1)))
        ties += int(np.sum(gap == 0))
        if np.any(gap > 0):
            worst = min(worst, float(gap[gap > 0].min()))
    return worst, ties


@pytest.mark.parametrize("name", [c.name for c in SUITE.cases if c.dtype == "float32"])
def test_float32_cases_keep_every_decision_clear_of_a_tie(name: str) -> None:
    """float32 rounding (~1e-7 of that scale) must not be able to flip a label mid-run, or a
    correct float32 run would leave the oracle's trajectory: every decision is an exact tie
    (small integers, exact in any order) or at least 1e-5 away from one."""
    case = SUITE.find_case(name)
    assert isinstance(case, Case)
    worst, ties = _decision_margins(case)
    assert worst >= 1e-5
    assert (ties > 0) == (case.params.get("pattern") in ("equidistant", "duplicate_centre"))
