"""gradient_accumulation in one batched pass (CPU or CUDA): the accumulated gradient is a
sum over samples, so every sample's loss gets its micro-batch's weight c_k/n_k and the whole
batch runs through one forward and one backward of four matmuls. Only BatchNorm needs the
micro-batches apart: its statistics and its backward's two means are taken per row range.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.gradient_accumulation import BN_EPS, AccumulationOptions, check, weights


@implementation("gradient_accumulation", ("torch_cpu", "torch_cuda"), "fused")
def accumulate(x: Any, y: Any, w1: Any, b1: Any, w2: Any, b2: Any, mask: Any, sizes: Any,
               opts: AccumulationOptions) -> tuple[Any, ...]:  # fmt: skip
    """One batched forward/backward with per-sample weights; BatchNorm per row range."""
    n = check(x, y, w1, b1, w2, b2, mask, sizes, opts)
    w = torch.repeat_interleave(torch.tensor(weights(n, opts), dtype=x.dtype), torch.tensor(n)).to(
        x.device
    )[:, None]
    a = torch.addmm(b1, x, w1)
    if opts.batchnorm:
        invstd = []
        for rows in torch.split(a, n):  # views: normalised in place, segment by segment
            var, mean = torch.var_mean(rows, dim=0, correction=0)
            inv = torch.rsqrt(var + BN_EPS)
            rows.sub_(mean).mul_(inv)
            invstd.append(inv)
    active = a > 0
    r = torch.relu(a).mul_(mask)
    dout = torch.addmm(b2, r, w2).sub_(y).mul_(w)
    dw2, db2 = r.T @ dout, dout.sum(dim=0)
    da = (dout @ w2.T).mul_(mask).mul_(active)
    if opts.batchnorm:
        for g, ahat, inv in zip(torch.split(da, n), torch.split(a, n), invstd, strict=True):
            m1, m2 = g.mean(dim=0), (g * ahat).mean(dim=0)
            g.sub_(m1).sub_(ahat * m2).mul_(inv)
    return x.T @ da, da.sum(dim=0), dw2, db2
