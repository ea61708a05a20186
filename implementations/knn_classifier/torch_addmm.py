"""knn_classifier in torch (CPU or CUDA): per block of queries addmm(|x|^2, q, -2 x^T) and
topk(largest=False) pick the k nearest; their exact distances are recomputed by direct
differences (distance 0 stays 0), and the votes are a scatter_add into (query, class).
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.knn_classifier import KnnOptions, check_inputs

ROWS = 1024  # queries per block


@implementation("knn_classifier", ("torch_cpu", "torch_cuda"), "addmm")
def knn_classifier(x: Any, y: Any, q: Any, k: int, opts: KnnOptions) -> Any:
    """addmm scores, topk, direct distances of the k, scatter_add votes."""
    check_inputs(x, y, q, k)
    labels, cls = torch.unique(y, return_inverse=True)
    c = len(labels)
    xt, x2 = (x * -2).T, (x * x).sum(dim=1)
    out = torch.empty(len(q), dtype=torch.int64, device=q.device)
    for s in range(0, len(q), ROWS):
        qb = q[s : s + ROWS]
        near = torch.topk(torch.addmm(x2, qb, xt), k, dim=1, largest=False).indices
        if opts.weights == "uniform":
            w = torch.ones(near.shape, dtype=torch.float64, device=q.device)
        else:
            dist = (qb[:, None, :].double() - x[near].double()).square().sum(dim=2).sqrt()
            zero = dist == 0
            w = torch.where(zero.any(dim=1, keepdim=True), zero.double(), 1.0 / dist)
        score = torch.zeros((len(qb), c), dtype=torch.float64, device=q.device)
        score.scatter_add_(1, cls[near], w)
        out[s : s + ROWS] = labels[torch.argmax(score, dim=1)]
    return out
