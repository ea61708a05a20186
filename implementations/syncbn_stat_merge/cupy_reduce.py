"""syncbn_stat_merge in CuPy: per shard the per-channel sum (float64 accumulation) and the
centred sum of squares by one ReductionKernel each over the shard's (C, n·L) view, then
Chan's merge of the (K, C) statistics on the device.
"""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.batchnorm_forward_running_stats import BatchNormOptions, batch_weight
from suites.syncbn_stat_merge import check

_CENTRED = cp.ReductionKernel(
    "T x, float64 mu", "float64 s", "((double)x - mu) * ((double)x - mu)", "a + b", "s = a",
    "0", "opshootout_syncbn_centred",
)  # fmt: skip


@implementation("syncbn_stat_merge", "cupy", "reduce")
def syncbn_stat_merge(shards: Any, running_mean: Any, running_var: Any, num_batches_tracked: Any,
                      opts: BatchNormOptions) -> Any:  # fmt: skip
    """Two reductions per non-empty shard, the merge as (K, C) array ops."""
    c, l = check(shards, running_mean, running_var, num_batches_tracked, opts)
    if not opts.training:
        return running_mean.copy(), running_var.copy(), running_mean.copy(), running_var.copy()
    counts, means, sq = [], [], []
    for s in shards:
        n = s.shape[0] * l
        if n == 0:
            continue
        v = s.reshape(s.shape[0], c, l)
        mu = v.sum(axis=(0, 2), dtype=cp.float64) / n
        counts.append(n)
        means.append(mu)
        sq.append(_CENTRED(v, mu[None, :, None], axis=(0, 2)) / n)
    nk = cp.asarray(counts, dtype=cp.float64)[:, None]
    mu_k, var_k = cp.stack(means), cp.stack(sq)
    total = float(sum(counts))
    mean = (nk * mu_k).sum(0) / total
    var = (nk * (var_k + (mu_k - mean) ** 2)).sum(0) / total
    f = batch_weight(opts, num_batches_tracked)
    unbiased = var * (total / (total - 1)) if opts.unbiased_running_var else var
    rm = running_mean * (1 - f) + mean * f
    rv = running_var * (1 - f) + unbiased * f
    return tuple(a.astype(running_mean.dtype) for a in (mean, var, rm, rv))
