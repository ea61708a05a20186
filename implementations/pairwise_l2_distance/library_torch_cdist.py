"""pairwise_l2_distance via torch.cdist(p=2) on CPU tensors, default compute_mode.

The default mode switches to a GEMM ("mm") route when M > 25 or N > 25, with the expansion's
cancellation error; smaller inputs take the direct route. squared=True squares the result.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.pairwise_l2_distance import ARGS, GEMM_EXPECTED_FAILURES, L2Options


@implementation(
    "pairwise_l2_distance",
    "library",
    "torch_cdist",
    arrays="torch_cpu",
    requires=("torch",),
    expected_failures=GEMM_EXPECTED_FAILURES,
)
def pairwise_l2_distance(a: Any, b: Any, opts: L2Options) -> Any:
    """torch.cdist(a, b, p=2.0) (use_mm_for_euclid_dist_if_necessary), squared on request."""
    dtype = ARGS.check(a, b)
    dist = torch.cdist(a.to(dtype), b.to(dtype), p=2.0)
    return dist.square_() if opts.squared else dist
