"""triplet_loss: the suite catches the classic mistakes of triplet-margin code.

Each wrong implementation below makes one mistake (eps left out or added to the norm, the
swap's d(n, p) for d(p, n), the swap ignored, squared for plain, the norm order ignored, the
hinge after the mean, a GEMM expansion of the distances, a chunked mean, float32 arithmetic,
NaN swallowed, p <= 0 accepted); verify must flag it on the case built for it, and where it
says so pass it on a case the mistake does not touch. Inputs are the suite's, fixed seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation, load_registry
from harness.verify import Verdict, verify
from suites.pairwise_l2_distance import L2Options, pairwise_l2_distance
from suites.triplet_loss import ARGS, SUITE, TripletOptions, check, triplet_loss

Impl = Callable[..., Any]
Dist = Callable[[np.ndarray, np.ndarray, float, TripletOptions], np.ndarray]


def _verdict(fn: Impl, case: str) -> Verdict:
    impl = Implementation(SUITE.algorithm, "numpy", "wrong", fn)
    return verify(SUITE, impl, SUITE.find_case(case))


def _bad(v: Verdict, *phrases: str) -> None:
    assert v.status in ("fail", "error"), (v.status, v.detail)
    for phrase in phrases:
        assert phrase in v.detail, v.detail


def _ok(fn: Impl, *cases: str) -> None:
    for case in cases:
        v = _verdict(fn, case)
        assert v.status == "pass", (case, v.detail)


def _dist(x: np.ndarray, y: np.ndarray, p: float, opts: TripletOptions) -> np.ndarray:
    """Right: ||x - y + eps||_p per row, squared when asked."""
    v = np.abs(x - y + x.dtype.type(opts.eps))
    d = v.max(axis=1, initial=0) if p == math.inf else (v**p).sum(axis=1) ** (1 / p)
    return d * d if opts.squared else d  # type: ignore[no-any-return]


def _impl(dist: Dist = _dist, work: Any = None, swap_pn: bool = True, hinge_first: bool = True,
          minimum: Callable[..., Any] = np.minimum, hinge: Callable[..., Any] = np.maximum,
          empty_mean: float = math.nan,
          validate: Callable[..., Any] = check) -> Impl:  # fmt: skip
    """An implementation from a distance rule, in the inputs' dtype (or ``work``)."""

    def impl(anchor: Any, positive: Any, negative: Any, margin: Any, p: Any, opts: Any) -> Any:
        validate(anchor, positive, negative, margin, p)
        dt = anchor.dtype
        a, pos, neg = (t.astype(work or dt) for t in (anchor, positive, negative))
        with np.errstate(all="ignore"):
            d_ap, d_an = dist(a, pos, float(p), opts), dist(a, neg, float(p), opts)
            if opts.swap:
                d_pn = dist(pos, neg, float(p), opts) if swap_pn else dist(neg, pos, float(p), opts)
                d_an = minimum(d_an, d_pn)
            if not hinge_first and opts.reduction == "mean":
                return np.asarray(max(float(np.mean(d_ap - d_an)) + margin, 0.0), dt)
            loss = hinge(d_ap - d_an + margin, 0)
        if opts.reduction == "none":
            return loss.astype(dt)
        if opts.reduction == "sum":
            return np.asarray(loss.sum(), dt)
        return np.asarray(loss.mean() if loss.size else empty_mean, dt)

    return impl


REGISTRY = load_registry()
PROJECT = [
    REGISTRY.implementations[f"triplet_loss/{k}"] for k in ("numpy/chunked", "library/torch")
]


def test_the_correct_variant_and_the_project_implementations_pass_the_cases_used_below() -> None:
    _ok(_impl(), "random", "random_f64", "identical_ap_none_f64", "swap_none_f64",
        "p1_none_f64", "offset_1e3_none", "multi_block", "empty_batch_none",
        "empty_batch_mean", "nan_none")  # fmt: skip
    for impl in PROJECT:
        for case in ("identical_ap_swap_f64", "p_half_none_f64", "squared_none_f64", "nan_mean"):
            v = verify(SUITE, impl, SUITE.find_case(case))
            assert v.status == "pass", (impl.key, case, v.detail)


def test_eps_left_out_or_added_to_the_norm_is_caught() -> None:
    """torch adds eps to every coordinate of the difference: a = p is sqrt(D)·eps away."""

    def no_eps(x: np.ndarray, y: np.ndarray, p: float, opts: TripletOptions) -> np.ndarray:
        return _dist(x, y, p, TripletOptions(0.0, opts.swap, opts.squared, opts.reduction))

    def eps_on_norm(x: np.ndarray, y: np.ndarray, p: float, opts: TripletOptions) -> np.ndarray:
        return no_eps(x, y, p, opts) + opts.eps

    for wrong in (no_eps, eps_on_norm):
        _ok(_impl(wrong), "random", "eps_0_none_f64")  # float32 cannot see 1e-6; eps = 0 agrees
        _bad(_verdict(_impl(wrong), "identical_ap_none_f64"), "finite values off")


def test_the_swap_distance_must_be_d_of_p_and_n_and_must_be_applied() -> None:
    """d(n, p) = ||n - p + eps|| is not d(p, n); a swap flag ignored changes rows where the
    positive is closer to the negative than the anchor is."""
    _ok(_impl(swap_pn=False), "swap_mean")  # float32: the eps order is below its tolerance
    _bad(_verdict(_impl(swap_pn=False), "swap_none_f64"), "finite values off")
    ignored = _impl(minimum=lambda d_an, d_pn: d_an)
    _ok(ignored, "random_f64")
    _bad(_verdict(ignored, "swap_none_f64"), "finite values off")
    _bad(_verdict(ignored, "swap_mean"), "finite values off")


def test_squared_and_plain_distances_are_told_apart() -> None:
    def always_squared(x: np.ndarray, y: np.ndarray, p: float, opts: TripletOptions) -> np.ndarray:
        return _dist(x, y, p, TripletOptions(opts.eps, opts.swap, True, opts.reduction))

    _ok(_impl(always_squared), "squared_none_f64")
    _bad(_verdict(_impl(always_squared), "random"), "finite values off")


def test_the_norm_order_is_enforced() -> None:
    def euclid(x: np.ndarray, y: np.ndarray, p: float, opts: TripletOptions) -> np.ndarray:
        return _dist(x, y, 2.0, opts)

    _ok(_impl(euclid), "random_f64")
    for case in ("p1_none_f64", "p3_none", "p_inf_none_f64", "p_half_none_f64"):
        _bad(_verdict(_impl(euclid), case), "finite values off")


def test_the_hinge_is_per_triplet_not_after_the_mean() -> None:
    _ok(_impl(hinge_first=False), "all_easy_none")  # no mean taken
    _bad(_verdict(_impl(hinge_first=False), "random"), "finite values off")


def test_a_gemm_expansion_of_the_distances_is_caught_at_an_offset() -> None:
    """||x||² - 2x·y + ||y||² cancels when the points sit far from the origin."""

    def gemm(x: np.ndarray, y: np.ndarray, p: float, opts: TripletOptions) -> np.ndarray:
        xs = x + x.dtype.type(opts.eps)
        d2 = np.maximum((xs * xs).sum(1) - 2 * (xs * y).sum(1) + (y * y).sum(1), 0)
        return d2 if opts.squared else np.sqrt(d2)  # type: ignore[no-any-return]

    _ok(_impl(gemm), "random")
    _bad(_verdict(_impl(gemm), "offset_1e3_none"), "finite values off")


def test_a_chunked_mean_wrong_only_past_its_first_chunk_is_caught() -> None:
    def chunk_means(anchor: Any, positive: Any, negative: Any, margin: Any, p: Any,
                    opts: Any) -> Any:  # fmt: skip
        """The mean of 256-row chunk means: right for one chunk, not for a short last one."""
        if opts.reduction != "mean":
            return _impl()(anchor, positive, negative, margin, p, opts)
        none = TripletOptions(opts.eps, opts.swap, opts.squared, "none")
        loss = _impl()(anchor, positive, negative, margin, p, none)
        means = [loss[i : i + 256].mean(dtype=np.float64) for i in range(0, len(loss), 256)]
        return np.asarray(np.mean(means), anchor.dtype)

    _ok(chunk_means, "random", "random_f64")  # 40 rows: one chunk
    _bad(_verdict(chunk_means, "multi_block"), "finite values off")  # 600 = 256 + 256 + 88


def test_float32_arithmetic_on_float64_inputs_is_caught() -> None:
    _bad(_verdict(_impl(work=np.float32), "random_f64"), "finite values off")
    _bad(_verdict(_impl(work=np.float32), "none_f64"), "finite values off")


def test_nan_must_propagate_and_the_empty_mean_is_nan() -> None:
    swallowing = _impl(hinge=np.fmax)  # fmax(NaN, 0) = 0: a NaN triplet counted as easy
    _ok(swallowing, "random")
    _bad(_verdict(swallowing, "nan_none"), "numbers where the oracle has NaN")
    _bad(_verdict(swallowing, "nan_mean"), "numbers where the oracle has NaN")
    _bad(_verdict(_impl(empty_mean=0.0), "empty_batch_mean"), "numbers where the oracle has NaN")


def test_a_norm_order_of_zero_must_be_refused() -> None:
    """ARGS alone accepts p = 0 (its bound is closed); torch computes a count there."""
    lax = _impl(validate=lambda *a: ARGS.check(*a))
    _ok(lax, "random")
    _bad(verify(SUITE, Implementation(SUITE.algorithm, "numpy", "wrong", lax),
                SUITE.find_case("p_zero")), "must raise ValueError")  # fmt: skip


def test_wrong_shapes_dtypes_and_input_writes_are_caught() -> None:
    def scalar_none(anchor: Any, positive: Any, negative: Any, margin: Any, p: Any,
                    opts: Any) -> Any:  # fmt: skip
        out = _impl()(anchor, positive, negative, margin, p, opts)
        return out.sum() if out.size == 0 else out  # () for (0,)

    def float64_out(anchor: Any, positive: Any, negative: Any, margin: Any, p: Any,
                    opts: Any) -> Any:  # fmt: skip
        return triplet_loss(anchor, positive, negative, margin, p, opts)

    def in_place(anchor: Any, positive: Any, negative: Any, margin: Any, p: Any,
                 opts: Any) -> Any:  # fmt: skip
        np.subtract(anchor, positive, out=anchor)  # a - p into the caller's anchor
        return _impl()(anchor + positive, positive, negative, margin, p, opts)

    _bad(_verdict(scalar_none, "empty_batch_none"), "has shape (), expected (0,)")
    _bad(_verdict(float64_out, "random"), "has dtype float64, expected float32")
    _bad(_verdict(in_place, "random"), "modified its input(s) ['anchor']")


def test_the_oracle_is_torch_s_in_float64_and_its_distances_pairwise_l2_s() -> None:
    torch = pytest.importorskip("torch")
    f = torch.nn.functional
    rng = np.random.default_rng(3)
    a, pos, neg = (rng.standard_normal((25, 6)) for _ in range(3))
    t = [torch.from_numpy(x) for x in (a, pos, neg)]
    for pw in (1.0, 2.0, 3.0, math.inf):
        for swap in (False, True):
            ours = triplet_loss(a, pos, neg, 0.7, pw, TripletOptions(swap=swap, reduction="none"))
            theirs = f.triplet_margin_loss(*t, margin=0.7, p=pw, swap=swap, reduction="none")
            np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-13, atol=1e-13)
    sq = triplet_loss(
        a, pos, neg, 2.0, 2.0, TripletOptions(eps=0.0, squared=True, reduction="none")
    )
    d2 = pairwise_l2_distance(a, pos, L2Options(squared=True)).diagonal()
    d2n = pairwise_l2_distance(a, neg, L2Options(squared=True)).diagonal()
    np.testing.assert_allclose(sq, np.maximum(d2 - d2n + 2.0, 0), rtol=1e-12, atol=1e-12)
