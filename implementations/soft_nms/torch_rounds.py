"""soft_nms in torch, in rounds: every live box that no live neighbour outranks is emitted
at once, then all of them decay the rest in one product of factor rows.

A box's score only falls, and only neighbours (f(IoU) < 1) ever lower it, so a box that is
the highest among its live neighbours (equal scores: lower index) is emitted with exactly
the score the one-at-a-time loop would give it; the emitted boxes are finally ordered by
that score (stable: a neighbour emitted in an earlier round stays first on a tie). Rounds
follow the longest chain of overlapping boxes in descending score (a few on clustered
detections; N in the worst case, a chain of boxes each overlapping the next). The (N, N)
factor matrix is built once in the input dtype. The same code runs on CPU and CUDA.

prune='after': the boxes below the threshold are decayed too (so a negative score zeroed by
a factor 0 joins at -0.0, tying the lowest live scores); once no box is at or above the
threshold, score_threshold 0 leaves negative scores that rise as they decay, so the rest
runs one box at a time (the rounds rely on falling scores), and only zeroed boxes are kept.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.soft_nms import ARGS, SoftNmsOptions


def _factors(b: torch.Tensor, t: float, scale: float, opts: SoftNmsOptions) -> Any:
    """(N, N) decay factors f(IoU(i, j))."""
    r, c = b[:, None, :], b[None, :, :]
    iw = torch.minimum(r[..., 2], c[..., 2]) - torch.maximum(r[..., 0], c[..., 0])
    ih = torch.minimum(r[..., 3], c[..., 3]) - torch.maximum(r[..., 1], c[..., 1])
    inter = iw.clamp_min_(0) * ih.clamp_min_(0)
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area[:, None] + area[None, :] - inter
    iou = torch.where(union != 0, inter / union, 0.0)  # zero union: IoU 0
    if opts.method == "gaussian":
        return torch.exp(-(iou * iou) / scale)
    hit = iou >= t if opts.decay_if == "ge" else iou > t
    return torch.where(hit, 1.0 - iou if opts.method == "linear" else 0.0, 1.0).to(b.dtype)


@implementation("soft_nms", ("torch_cpu", "torch_cuda"), "rounds")
def soft_nms(boxes: Any, scores: Any, iou_threshold: float, sigma: float,
             score_threshold: float, opts: SoftNmsOptions) -> tuple[Any, Any]:  # fmt: skip
    """Rounds of neighbourhood maxima over a once-built factor matrix, then one stable sort."""
    dtype = ARGS.check(boxes, scores, iou_threshold, sigma, score_threshold)
    n, device = scores.shape[0], scores.device
    thr = torch.tensor(score_threshold, dtype=dtype).item()  # compared in the input dtype
    scale = sigma if opts.gaussian_form == "sigma" else 2.0 * sigma * sigma
    f = _factors(boxes.to(dtype), iou_threshold, scale, opts)
    near = f < 1
    near.fill_diagonal_(False)
    s = scores.to(dtype, copy=True)
    alive = s >= thr
    done = torch.zeros_like(alive)
    index = torch.arange(n, device=device)
    keep, kept = [], []
    while bool(alive.any()):
        live = index[alive]
        order = torch.sort(-s[live], stable=True).indices  # rank: score, then lower index
        rank = torch.empty_like(order)
        rank[order] = torch.arange(live.numel(), device=device)
        outranked = near[live][:, live] & (rank[None, :] < rank[:, None])
        ready = live[~outranked.any(dim=1)]
        keep.append(ready)
        kept.append(s[ready])
        alive[ready] = False
        s = s * f[ready].prod(dim=0)
        alive &= s >= thr
        if opts.prune == "after":
            done[ready] = True
            alive = ~done & (s >= thr)
    if opts.prune == "after" and thr <= 0:  # the negative tail: none of these is kept ...
        for _ in range(int((~done).sum())):
            i = int(torch.argmax(torch.where(done, -torch.inf, s)))  # first maximum: lowest
            value = s[i].clone()
            done[i] = True
            s = s * f[i]
            if value >= thr:  # ... unless a factor of exactly 0 brought it to -0.0
                keep.append(index[i : i + 1])
                kept.append(value.reshape(1))
    if not keep:
        return index.new_empty(0), s.new_empty(0)
    ids, values = torch.cat(keep), torch.cat(kept)
    order = torch.sort(-values, stable=True).indices
    return ids[order], values[order]
