"""syncbn_stat_merge: the suite catches the classic mistakes of synchronised batch norm.

Each wrong implementation below makes one mistake (the naive Σn(σ² + μ²)/N − μ², shard
means averaged without their counts, the between-shard term left out, empty shards not
skipped, each shard unbiased by n_k/(n_k − 1) instead of the batch by N/(N − 1), Keras'
momentum read as torch's, a channel block cut short, float32 arithmetic, the running
statistics written in place); verify must flag it on the case built for it, and pass it
where the mistake changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.verify import Verdict, verify
from suites.batchnorm_forward_running_stats import (
    BatchNormOptions,
    batchnorm_forward_running_stats,
)
from suites.syncbn_stat_merge import SUITE, check, syncbn_stat_merge

Impl = Callable[..., Any]


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


def _impl(merge: str = "chan", weighted: bool = True, skip_empty: bool = True,
          unbias: str = "batch", keras_as_torch: bool = False, work: Any = None,
          channels: int = 1 << 62, in_place: bool = False) -> Impl:  # fmt: skip
    """Per-shard statistics in the shards' dtype (or ``work``), merged with one knob turned;
    ``channels``: the channels a blocked kernel that drops its last partial block reaches."""

    def impl(shards: Any, running_mean: Any, running_var: Any, tracked: Any, opts: Any) -> Any:
        c, l = check(shards, running_mean, running_var, tracked, opts)
        dt = running_mean.dtype
        if not opts.training:
            return running_mean.copy(), running_var.copy(), running_mean.copy(), running_var.copy()
        n, mu, var = [], [], []
        for s in shards:
            v = s.astype(work or s.dtype).reshape(s.shape[0], c, l).transpose(1, 0, 2)
            v = v.reshape(c, s.shape[0] * l)
            if skip_empty and v.shape[1] == 0:
                continue
            with np.errstate(all="ignore"):
                m = v.mean(axis=1)
                n.append(v.shape[1])
                mu.append(m)
                var.append(((v - m[:, None]) ** 2).mean(axis=1))
        nk, mk, vk = np.array(n, float)[:, None], np.array(mu), np.array(var)
        total = float(nk.sum())
        w = nk if weighted else np.ones_like(nk) * total / len(nk)
        mean = (w * mk).sum(0) / total
        if merge == "naive":
            v_all = (nk * (vk + mk**2)).sum(0) / total - mean**2
        elif merge == "within":
            v_all = (nk * vk).sum(0) / total
        else:
            v_all = (nk * (vk + (mk - mean) ** 2)).sum(0) / total
        mean[channels:], v_all[channels:] = 0.0, 0.0
        if unbias == "shard":  # each shard's variance unbiased on its own, then merged
            unbiased = (nk * vk * nk / (nk - 1)).sum(0) / total + v_all - (nk * vk).sum(0) / total
        else:
            unbiased = v_all * total / (total - 1)
        if not opts.unbiased_running_var:
            unbiased = v_all
        m = opts.momentum
        f = 1 / (tracked + 1) if m is None else m if opts.momentum_convention == "torch" else 1 - m
        f = m if keras_as_torch and m is not None else f
        rm, rv = (1 - f) * running_mean + f * mean, (1 - f) * running_var + f * unbiased
        if in_place:
            running_mean[...], running_var[...] = rm, rv
        return tuple(np.asarray(a).astype(dt) for a in (mean, v_all, rm, rv))

    return impl


def test_the_correct_variant_passes_the_cases_used_below() -> None:
    _ok(_impl(), "unequal_shards", "unequal_shards_f64", "equal_shards", "means_1e4",
        "empty_shards_f64", "keras_f64", "multi_block", "one_shard")  # fmt: skip


def test_the_naive_merge_cancels_at_large_means() -> None:
    _ok(_impl(merge="naive"), "unequal_shards")
    _bad(_verdict(_impl(merge="naive"), "means_1e4"), "output 'var'")


def test_shard_means_must_be_weighted_by_their_counts() -> None:
    _ok(_impl(weighted=False), "equal_shards")
    _bad(_verdict(_impl(weighted=False), "unequal_shards"), "output 'mean'")


def test_the_between_shard_term_is_required() -> None:
    _ok(_impl(merge="within"), "one_shard")
    _bad(_verdict(_impl(merge="within"), "unequal_shards"), "output 'var'")


def test_empty_shards_must_be_skipped() -> None:
    _ok(_impl(skip_empty=False), "equal_shards")
    _bad(_verdict(_impl(skip_empty=False), "empty_shards_f64"), "NaN where the oracle has")


def test_the_running_variance_is_unbiased_by_the_batch_count() -> None:
    per_shard = _impl(unbias="shard")
    _bad(_verdict(per_shard, "unequal_shards_f64"), "output 'running_var'")


def test_keras_momentum_is_the_old_value_s_weight() -> None:
    _bad(_verdict(_impl(keras_as_torch=True), "keras_f64"), "output 'running_mean'")


def test_a_channel_block_cut_short_is_caught() -> None:
    _ok(_impl(channels=256), "unequal_shards")
    _bad(_verdict(_impl(channels=256), "multi_block"), "output 'mean'")


def test_float32_arithmetic_and_in_place_running_statistics_are_caught() -> None:
    _bad(_verdict(_impl(work=np.float32), "unequal_shards_f64"), "finite values off")
    _bad(_verdict(_impl(in_place=True), "unequal_shards"), "modified its input(s)")


def test_the_merge_equals_batch_norm_on_the_concatenated_batch() -> None:
    """The reuse the spec names: batchnorm_forward_running_stats' oracle on torch.cat's
    equivalent gives the same running statistics."""
    inputs = SUITE.make_inputs(SUITE.find_case("unequal_shards_f64"))  # type: ignore[arg-type]
    shards, rm, rv = inputs["shards"], inputs["running_mean"], inputs["running_var"]
    opts = BatchNormOptions()
    _, _, new_rm, new_rv = syncbn_stat_merge(shards, rm, rv, 3, opts)
    c = len(rm)
    _, want_rm, want_rv = batchnorm_forward_running_stats(
        np.concatenate(shards), np.ones(c), np.zeros(c), rm, rv, 3, opts
    )
    np.testing.assert_allclose(new_rm, want_rm, rtol=1e-12)
    np.testing.assert_allclose(new_rv, want_rv, rtol=1e-12)
    torch = pytest.importorskip("torch")
    x = torch.from_numpy(np.concatenate(shards))
    var, mean = torch.var_mean(x, dim=[0, 2, 3], correction=0)
    mine = syncbn_stat_merge(shards, rm, rv, 3, opts)
    np.testing.assert_allclose(mine[0], mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(mine[1], var.numpy(), rtol=1e-12)
