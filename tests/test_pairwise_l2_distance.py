"""pairwise_l2_distance: the suite catches the classic mistakes of a distance matrix.

Every wrong variant is a small NumPy distance matrix with one deliberate mistake, run
through ``harness.verify.verify`` on one of the suite's own cases; the correct variants
(direct differences, and the GEMM expansion clamped at 0) pass the cases they are shown on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.verify import Verdict, verify
from suites.pairwise_l2_distance import ARGS, SUITE, L2Options


def dist(
    a: Any,
    b: Any,
    opts: L2Options,
    *,
    gemm: bool = False,  # |a|^2 + |b|^2 - 2 a.b^T (the fast route)
    clamp: bool = True,  # GEMM: negative squares clamped at 0 before the sqrt
    honour_squared: bool = True,
    compute: Any = None,  # dtype of the arithmetic (None: the inputs')
    rows: int = 0,  # > 0: only the first block of `rows` rows is computed
    empty_shape: bool = False,  # an empty input gives shape (0,) instead of (M, N)
    hide_nan: bool = False,  # NaN squares replaced by 0 (np.nan_to_num)
    validate: bool = True,
) -> Any:
    """A straightforward distance matrix; each keyword argument switches one mistake on."""
    dtype = ARGS.check(a, b) if validate else a.dtype
    if empty_shape and (a.size == 0 or b.size == 0):
        return np.zeros(0, dtype=dtype)
    xa, xb = (a, b) if compute is None else (a.astype(compute), b.astype(compute))
    if gemm:
        d2 = (xa * xa).sum(1)[:, None] + (xb * xb).sum(1)[None, :] - 2.0 * (xa @ xb.T)
        if clamp:
            d2 = np.maximum(d2, 0.0)
    else:  # 32 rows of a at a time: the (rows, N, D) differences stay small
        d2 = np.empty((len(xa), len(xb)), dtype=xa.dtype)
        for s in range(0, len(xa), 32):
            diff = xa[s : s + 32, None, :] - xb[None, :, :]
            d2[s : s + 32] = np.einsum("ijk,ijk->ij", diff, diff)
    if rows:
        d2[rows:] = 0.0
    if hide_nan:
        d2 = np.nan_to_num(d2)
    out = d2 if (opts.squared and honour_squared) else np.sqrt(d2)
    return out.astype(dtype, copy=False)


def run(case_name: str, **mistake: Any) -> Verdict:
    def fn(a: Any, b: Any, opts: L2Options) -> Any:
        return dist(a, b, opts, **mistake)

    name = "test_" + ("_".join(f"{k}_{v}" for k, v in mistake.items()) or "ok")
    impl = Implementation("pairwise_l2_distance", "numpy", name, fn)
    return verify(SUITE, impl, SUITE.find_case(case_name))


def assert_flagged(verdict: Verdict, *words: str) -> None:
    assert verdict.status in ("fail", "error"), verdict
    for word in words:
        assert word in verdict.detail, verdict.detail


CASES = [c.name for c in SUITE.cases]
#: The GEMM expansion fails these by design (non-zero self-distances; cancellation at a
#: 1e4 offset): the suite's expected failures of its GEMM implementations.
GEMM_FAILS = {"identical_points", "offset_1e4_small_spread"}


@pytest.mark.parametrize("name", CASES + [e.name for e in SUITE.error_cases])
def test_direct_differences_pass_every_case(name: str) -> None:
    verdict = run(name)
    assert verdict.status == "pass", verdict.detail


@pytest.mark.parametrize("name", sorted(set(CASES) - GEMM_FAILS))
def test_the_clamped_gemm_passes_every_other_case(name: str) -> None:
    verdict = run(name, gemm=True)
    assert verdict.status == "pass", verdict.detail


def test_gemm_self_distances_are_caught() -> None:
    assert_flagged(run("identical_points", gemm=True), "expected 0.0")


def test_gemm_cancellation_at_an_offset_is_caught() -> None:
    assert_flagged(run("offset_1e4_small_spread", gemm=True), "finite values off")


def test_gemm_without_the_clamp_is_caught() -> None:
    """Duplicated rows: |a|^2 + |b|^2 - 2ab rounds below 0 for some pairs, sqrt gives NaN."""
    assert_flagged(run("duplicate_rows", gemm=True, clamp=False), "NaN")


def test_ignoring_the_squared_flag_is_caught() -> None:
    assert_flagged(run("squared_f64", honour_squared=False), "finite values off")


def test_float32_arithmetic_on_float64_inputs_is_caught() -> None:
    """Caught on squared distances, direct or GEMM. Unsquared, the GEMM allowance
    sqrt(delta) (about 5e-7 at D = 16 in float64) is as wide as float32's rounding of the
    distances, so random_f64 lets float32 arithmetic through: the squared case is the
    check."""
    assert run("random_f64", compute=np.float32).status == "pass"
    assert_flagged(run("squared_f64", compute=np.float32), "finite values off")
    assert_flagged(run("squared_f64", compute=np.float32, gemm=True), "finite values off")


def test_a_block_wrong_past_its_first_rows_is_caught() -> None:
    assert run("random_f32", rows=256).status == "pass"  # 60 rows: one block
    assert_flagged(run("multi_block", rows=256), "elements differ")


def test_a_wrong_shape_on_empty_inputs_is_caught() -> None:
    assert_flagged(run("empty_a", empty_shape=True), "shape")


def test_hiding_nan_is_caught() -> None:
    assert_flagged(run("nan_propagation", hide_nan=True), "NaN")


@pytest.mark.parametrize("name", [e.name for e in SUITE.error_cases])
def test_no_input_check_is_caught(name: str) -> None:
    verdict = run(name, validate=False)
    assert verdict.status in ("fail", "error"), verdict
