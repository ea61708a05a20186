"""pairwise_l2_distance in torch via the GEMM expansion, fused into one torch.addmm call.

||a||^2 broadcast as the addmm bias, alpha = -2 on a @ b.T, then ||b||^2 added, clamped at 0
and square-rooted in place. Device-agnostic: runs on the tensors' device, in their dtype.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.pairwise_l2_distance import ARGS, GEMM_EXPECTED_FAILURES, L2Options


@implementation(
    "pairwise_l2_distance",
    ("torch_cpu", "torch_cuda"),
    "addmm",
    expected_failures=GEMM_EXPECTED_FAILURES,
)
def pairwise_l2_distance(a: Any, b: Any, opts: L2Options) -> Any:
    """d2 = addmm(||a||^2, a, b.T, alpha=-2) + ||b||^2, clamp_min(0), sqrt."""
    dtype = ARGS.check(a, b)
    a, b = a.to(dtype), b.to(dtype)
    sq_a = (a * a).sum(dim=1, keepdim=True)
    sq_b = (b * b).sum(dim=1)
    d2 = torch.addmm(sq_a, a, b.T, alpha=-2)
    d2.add_(sq_b).clamp_min_(0)  # clamp_min keeps NaN
    return d2 if opts.squared else d2.sqrt_()
