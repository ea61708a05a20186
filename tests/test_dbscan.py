"""dbscan: the suite catches the classic mistakes of a DBSCAN.

Every wrong variant is a small NumPy DBSCAN with one deliberate mistake, run through
``harness.verify.verify`` on one of the suite's own cases; the correct one passes them all.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.verify import Verdict, case_inputs, verify
from suites.dbscan import ARGS, SUITE, check_inputs, dbscan


def clustering(
    x: Any,
    eps: float,
    min_samples: int,
    *,
    strict: bool = False,  # |x_i - x_j| < eps
    count_self: bool = True,
    compute: Any = np.float64,
    expand_borders: bool = False,  # grow clusters through border points too
    borders: str = "first",  # "noise": leave them out; "last": the highest id reaching them
    ids: str = "dense",  # "root": the first core point's index as the id
    block: int = 0,  # > 0: rows past the first block see no neighbours
    check_eps: bool = True,
    empty_shape: bool = False,  # labels (0, D) when N = 0
) -> Any:
    """A straightforward DBSCAN; each keyword argument switches one mistake on."""
    (check_inputs if check_eps else ARGS.check)(x, eps, min_samples)
    n = len(x)
    xs = np.asarray(x, dtype=compute)
    d2 = np.sum((xs[:, None, :] - xs[None, :, :]) ** 2, axis=2)
    limit = compute(eps) * compute(eps)
    within = d2 < limit if strict else d2 <= limit
    if block:
        within[block:] = False
        within[block:, block:] |= np.eye(n - block, dtype=bool)
    counts = within.sum(axis=1) - (0 if count_self else 1)
    core = counts >= min_samples
    labels = np.full(n, -1, dtype=np.int64)
    cluster = 0
    reached: list[list[int]] = [[] for _ in range(n)]
    for seed in range(n):
        if not core[seed] or labels[seed] >= 0:
            continue
        labels[seed] = cluster
        queue = [seed]
        while queue:
            i: int = queue.pop()
            for j in np.flatnonzero(within[i]).tolist():
                reached[j].append(cluster)
                if labels[j] < 0 or (expand_borders and labels[j] != cluster):
                    grow = labels[j] < 0
                    labels[j] = cluster
                    if core[j] or (expand_borders and grow):
                        queue.append(j)
        cluster += 1
    for i in np.flatnonzero(~core & (labels >= 0)).tolist():
        if borders == "noise":
            labels[i] = -1
        elif borders == "last":
            labels[i] = max(reached[i])
    if ids == "root":
        roots = [int(np.flatnonzero(labels == c)[0]) for c in range(cluster)]
        labels = np.where(labels >= 0, np.array([*roots, -1])[labels], -1)
    if empty_shape and n == 0:
        return np.empty((0, x.shape[1]), dtype=np.int64), core
    return labels, core


def run(case_name: str, **mistake: Any) -> Verdict:
    def fn(x: Any, eps: float, min_samples: int) -> Any:
        return clustering(x, eps, min_samples, **mistake)

    impl = Implementation("dbscan", "numpy", "test_" + ("_".join(mistake) or "ok"), fn)
    return verify(SUITE, impl, SUITE.find_case(case_name))


def assert_flagged(verdict: Verdict, *words: str) -> None:
    assert verdict.status in ("fail", "error"), verdict
    for word in words:
        assert word in verdict.detail, verdict.detail


SMALL = [c.name for c in SUITE.cases if c.name != "multi_block"]  # the N^2 test loop


@pytest.mark.parametrize("name", SMALL + [e.name for e in SUITE.errors])
def test_the_straightforward_clustering_passes_every_case(name: str) -> None:
    verdict = run(name)
    assert verdict.status == "pass", verdict.detail


def test_strict_eps_is_caught_on_the_lattice() -> None:
    assert_flagged(run("lattice_exactly_eps", strict=True), "core flags differ")


def test_not_counting_the_point_itself_is_caught() -> None:
    assert_flagged(run("blobs_f32", count_self=False), "core flags differ", "itself included")


def test_float32_distances_for_float64_points_are_caught() -> None:
    assert_flagged(run("near_eps_f64", compute=np.float32), "core flags differ")


def test_growing_clusters_through_border_points_is_caught() -> None:
    # the border point between two clusters would chain them into one
    assert_flagged(run("shared_border", expand_borders=True), "two clusters merged")


def test_border_points_left_as_noise_are_caught() -> None:
    assert_flagged(run("blobs_f32", borders="noise"), "label -1")


def test_a_border_point_in_either_reachable_cluster_passes() -> None:
    verdict = run("shared_border", borders="last")
    assert verdict.status == "pass", verdict.detail
    assert "border points in another eligible cluster" in verdict.note


def test_ids_that_are_not_0_to_c_minus_1_are_caught() -> None:
    assert_flagged(run("many_clusters_f32", ids="root"), "ids outside")


def test_a_clustering_blind_past_its_first_block_is_caught() -> None:
    assert_flagged(run("multi_block", block=256), "core flags differ")


def test_eps_zero_must_raise() -> None:
    assert_flagged(run("eps_zero", check_eps=False), "must raise ValueError")


def test_a_wrong_shape_on_no_points_is_caught() -> None:
    assert_flagged(run("no_points", empty_shape=True), "shape")


def test_the_shared_border_case_has_border_points_reaching_two_clusters() -> None:
    case = SUITE.find_case("shared_border")
    inputs = case_inputs(SUITE, case)  # type: ignore[arg-type]
    labels, core = dbscan(**inputs)
    x = inputs["x"]
    d2 = np.sum((x[:, None] - x[None]) ** 2, axis=2)
    border = np.flatnonzero(~core & (labels >= 0))
    assert len(border) == 6  # one a motif
    for i in border:
        reach = np.flatnonzero((d2[i] <= inputs["eps"] ** 2) & core)
        assert len(set(labels[reach].tolist())) == 2
