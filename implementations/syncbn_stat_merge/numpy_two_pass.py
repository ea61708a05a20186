"""syncbn_stat_merge in NumPy: per shard a float64-accumulated sum per channel (einsum over the
shard's (n, C, L) view), then the centred sum of squares, and Chan's merge of the (C,)
statistics; no concatenated copy of the batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.batchnorm_forward_running_stats import BatchNormOptions
from suites.syncbn_stat_merge import check, merge, update_running


@implementation("syncbn_stat_merge", "numpy", "two_pass")
def syncbn_stat_merge(shards: Any, running_mean: Any, running_var: Any, num_batches_tracked: Any,
                      opts: BatchNormOptions) -> Any:  # fmt: skip
    """Two passes per shard in its own dtype (float64 per-channel totals), merged in float64."""
    c, l = check(shards, running_mean, running_var, num_batches_tracked, opts)
    dtype = running_mean.dtype
    if not opts.training:
        return running_mean.copy(), running_var.copy(), running_mean.copy(), running_var.copy()
    counts, means, variances = [], [], []
    for s in shards:
        n = s.shape[0] * l
        if n == 0:
            continue
        v = s.reshape(s.shape[0], c, l)
        mu = np.einsum("ncl->c", v, dtype=np.float64) / n
        d = v - mu[:, None].astype(s.dtype)
        counts.append(n)
        means.append(mu)
        variances.append(np.einsum("ncl,ncl->c", d, d, dtype=np.float64) / n)
    mean, var, total = merge(counts, np.array(means), np.array(variances))
    rm, rv = update_running(mean, var, total, running_mean, running_var, num_batches_tracked, opts)
    return tuple(a.astype(dtype) for a in (mean, var, rm, rv))
