"""What a torch user writes for top-k attention: the scores, the kept keys from torch's own
selection (torch.sort(stable=True) for exactly k with the lower index first among ties, since
torch.topk promises no order among equal values; torch.topk's k-th value as the threshold for
at_least_kth), -inf elsewhere, torch.softmax, a matmul with v. Rows with no finite logit,
NaN under softmax, are written as zeros (the suite's convention).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from harness import implementation
from suites.sparse_topk_attention import SparseOptions, check


@implementation(
    "sparse_topk_attention", "library", "torch", arrays="torch_cpu", requires=("torch",)
)
def attention(
    q: Any, k: Any, v: Any, mask: Any, scale: Any, top_k: int, opts: SparseOptions
) -> Any:
    """scores -> torch.sort(stable) / torch.topk -> scatter into -inf -> softmax -> ·v."""
    check(q, k, v, mask, scale, top_k)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    scores = torch.matmul(q, k.transpose(-2, -1)) * scale
    if mask is not None and mask.dtype == torch.bool:
        keep = mask if opts.mask_true_means == "attend" else ~mask
        scores = scores.masked_fill(~keep, float("-inf"))
    elif mask is not None:
        scores = scores + mask
    if opts.ties == "lower_index":
        order = torch.sort(scores, dim=-1, descending=True, stable=True).indices[..., :top_k]
        sparse = torch.full_like(scores, float("-inf")).scatter(-1, order, scores.gather(-1, order))
    else:
        kth = torch.topk(scores, top_k, dim=-1).values[..., -1:]
        sparse = scores.masked_fill(scores < kth, float("-inf"))
    dead = (scores == float("-inf")).all(dim=-1, keepdim=True)
    weights = torch.softmax(sparse, dim=-1).masked_fill(dead, 0.0)
    return torch.matmul(weights, v)
