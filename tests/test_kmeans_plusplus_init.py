"""kmeans_plusplus_init: the suite catches the classic mistakes of a k-means++ seeding.

Every wrong variant is a small NumPy seeding loop with one deliberate mistake, run through
``harness.verify.verify`` on one of the suite's own cases; the correct loop passes them all.
The statistical checks draw from generators seeded with the suite's fixed case seeds (the
first ones written, never tuned): a correct sampler passes them, wrong ones fail by a wide
margin (p-values below 1e-10 where the threshold is 1e-3).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.verify import Verdict, case_inputs, verify
from suites.kmeans_plusplus_init import (
    ARGS,
    SUITE,
    check_inputs,
    kmeans_plusplus_init,
    pit_values,
)


def seeding(
    x: Any,
    u: Any,
    *,
    gemm: bool = False,  # |x|^2 + |c|^2 - 2 x.c: duplicates weigh ~1e-16, not 0
    side: str = "right",  # "left": cumsum >= u*total picks weight-0 points
    compute: Any = np.float64,  # distances in this dtype
    update: bool = True,  # False: weights from the first centre only
    zero_total: str = "uniform",  # "last": sklearn's clipped search
    first: str = "floor",  # "round": round(u*(N-1)) for the first centre
    block: int = 0,  # > 0: only the first `block` points can be picked
    check_k: bool = True,
    shape_bug: bool = False,  # centres flattened to (K,) when D = 0
    alias: bool = False,  # return x itself when every point is a centre in order
) -> Any:
    """A straightforward seeding loop; each keyword argument switches one mistake on."""
    (check_inputs if check_k else ARGS.check)(x, u)
    n, k = len(x), len(u)
    xs = x.astype(compute)
    idx = np.empty(k, dtype=np.int64)
    idx[0] = min(int(u[0] * n), n - 1) if first == "floor" else round(u[0] * (n - 1))
    w = np.full(n, np.inf, dtype=compute)
    for j in range(1, k):
        c = xs[idx[j - 1] if update else idx[0]]
        if gemm:
            d2 = np.einsum("nd,nd->n", xs, xs) + np.dot(c, c) - 2.0 * (xs @ c)
        else:
            d2 = np.sum((xs - c) ** 2, axis=1)
        w = np.minimum(w, d2)
        if block:
            w[block:] = 0.0
        cs = np.cumsum(w)
        total = cs[-1]
        if total == 0:
            idx[j] = min(int(u[j] * n), n - 1) if zero_total == "uniform" else n - 1
            continue
        i = int(np.searchsorted(cs, u[j] * total, side=side))  # type: ignore[call-overload]
        idx[j] = i if i < n else int(np.searchsorted(cs, total, side="left"))
    if alias and k == n and np.array_equal(idx, np.arange(n)):
        return x, idx
    centers = x[idx]
    return (centers.reshape(-1) if shape_bug and x.shape[1] == 0 else centers), idx


def run(case_name: str, **mistake: Any) -> Verdict:
    def fn(x: Any, u: Any) -> Any:
        return seeding(x, u, **mistake)

    impl = Implementation(
        "kmeans_plusplus_init", "numpy", "test_" + ("_".join(mistake) or "ok"), fn
    )
    return verify(SUITE, impl, SUITE.find_case(case_name))


def assert_flagged(verdict: Verdict, *words: str) -> None:
    assert verdict.status in ("fail", "error"), verdict
    for word in words:
        assert word in verdict.detail, verdict.detail


@pytest.mark.parametrize("name", [c.name for c in SUITE.cases] + [e.name for e in SUITE.errors])
def test_the_straightforward_loop_passes_every_case(name: str) -> None:
    verdict = run(name)
    assert verdict.status == "pass", verdict.detail


def test_gemm_expansion_distances_are_caught_on_duplicates() -> None:
    assert run("mixture_f64", gemm=True).status == "pass"  # no duplicates: same picks
    assert_flagged(run("duplicates_past_distinct_f64", gemm=True), "indices")


def test_searchsorted_left_picks_a_weight_zero_point() -> None:
    assert_flagged(run("integer_grid_f64", side="left"), "indices")


def test_float32_distances_for_float64_points_are_caught() -> None:
    assert_flagged(run("near_boundary_f64", compute=np.float32), "indices")


def test_weights_not_updated_after_every_pick_are_caught() -> None:
    assert_flagged(run("mixture_f32", update=False), "indices")


def test_the_clipped_search_at_total_zero_is_caught() -> None:
    assert_flagged(run("all_identical", zero_total="last"), "indices")


def test_another_first_pick_rule_is_caught() -> None:
    assert_flagged(run("mixture_f32", first="round"), "indices")


def test_a_seeding_blind_past_its_first_block_is_caught() -> None:
    assert_flagged(run("multi_block", block=256), "indices")


def test_more_draws_than_points_must_raise() -> None:
    assert_flagged(run("more_draws_than_points", check_k=False), "must raise ValueError")


def test_a_wrong_shape_on_the_no_features_case_is_caught() -> None:
    assert_flagged(run("no_features", shape_bug=True), "shape")


def test_returning_the_input_as_the_centres_is_caught() -> None:
    assert_flagged(run("single_point", alias=True), "new array")


def test_the_near_boundary_case_sits_just_past_a_running_sum() -> None:
    case = SUITE.find_case("near_boundary_f64")
    inputs = case_inputs(SUITE, case)  # type: ignore[arg-type]
    x, u = inputs["x"], inputs["u"]
    _, idx = kmeans_plusplus_init(x, u)
    w = np.full(len(x), np.inf)
    for j in range(1, len(u)):
        w = np.minimum(w, np.sum((x - x[idx[j - 1]]) ** 2, axis=1))
        cs = np.cumsum(w)
        gap = (u[j] * cs[-1] - cs[idx[j] - 1]) / cs[-1]
        assert 0 < gap < 2e-11  # MARGIN = 1e-11 past the sum before the pick


# ---- the statistical judge of sklearn (own generator) ------------------------------------------


def _law_verdict(sampler: str) -> Any:
    """PickLaw on a seeding of the multi_block case (300 picks) drawn by ``sampler``."""
    case = SUITE.find_case("multi_block")
    inputs = case_inputs(SUITE, case)  # type: ignore[arg-type]
    x = inputs["x"].astype(np.float64)
    rng = np.random.default_rng(1)
    n, k = x.shape[0], len(inputs["u"])
    idx = [int(rng.integers(n))]
    w = np.full(n, np.inf)
    for _ in range(1, k):
        w = np.minimum(w, np.sum((x - x[idx[-1]]) ** 2, axis=1))
        p = {"d2": w, "d": np.sqrt(w), "uniform": (w > 0) * 1.0}[sampler]
        idx.append(int(rng.choice(n, p=p / p.sum())))
    out = (inputs["x"][idx], np.array(idx))
    comp = SUITE.own_rng_compare
    assert comp is not None
    return comp(out, kmeans_plusplus_init(**inputs), inputs, case, comp.tolerance(case))  # type: ignore[arg-type]


def test_the_law_accepts_a_d2_sampler() -> None:
    result = _law_verdict("d2")
    assert result.passed, result.detail


@pytest.mark.parametrize("sampler", ["d", "uniform"])
def test_the_law_rejects_a_sampler_of_the_wrong_law(sampler: str) -> None:
    result = _law_verdict(sampler)
    assert not result.passed and "D^2 law" in result.detail


def test_the_law_rejects_a_pick_of_weight_zero() -> None:
    x = np.array([[0.0], [0.0], [1.0]])
    pit = pit_values(x, np.array([0, 1]), np.random.default_rng(0))
    assert np.isnan(pit[1])
