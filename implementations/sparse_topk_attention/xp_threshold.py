"""sparse_topk_attention through the array API: the k-th largest logit as a row threshold.

One code for NumPy, torch (CPU and CUDA) and CuPy via array-api-compat. Scores are built for
a block of query rows at a time; per row the k-th largest logit t comes from a selection
(np/cupy.partition, torch.topk's values: O(S), no sort), the kept set is logit > t plus, for
the lower-index rule, the first k - #(> t) logits equal to t (a running count along keys),
or every logit >= t. The kept weights stay in place in the score block (others zeroed), so
the weighted sum is one dense matmul with V and the softmax division applies to the result.
"""

from __future__ import annotations

import math
from typing import Any

from array_api_compat import array_namespace, device, is_cupy_array, is_torch_array

from harness import implementation
from suites.sparse_topk_attention import SparseOptions, check

_BLOCK_ELEMENTS = 1 << 24  # scores per block: 64 MiB in float32


def _kth_largest(scores: Any, top_k: int) -> Any:
    """The k-th largest value of each row, keepdims (NaN ranks largest everywhere)."""
    if is_torch_array(scores):
        return scores.topk(top_k, dim=-1, sorted=False).values.amin(dim=-1, keepdim=True)
    s = scores.shape[-1]
    if is_cupy_array(scores):
        import cupy

        return cupy.partition(scores, s - top_k, axis=-1)[..., s - top_k : s - top_k + 1]
    import numpy

    return numpy.partition(scores, s - top_k, axis=-1)[..., s - top_k : s - top_k + 1]


@implementation("sparse_topk_attention", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "threshold")
def attention(
    q: Any, k: Any, v: Any, mask: Any, scale: Any, top_k: int, opts: SparseOptions
) -> Any:
    """Per row block: Q·Kᵀ·scale + bias, k-th largest by selection, kept weights, ·V, / sum."""
    dtype, xp = check(q, k, v, mask, scale, top_k), array_namespace(q, k, v)
    (B, H, L, d), S, dv, dev = q.shape, k.shape[2], v.shape[3], device(q)
    scale = 1.0 / math.sqrt(d) if scale is None else float(scale)
    zero, blocked = (xp.asarray(x, dtype=dtype, device=dev) for x in (0.0, -math.inf))
    bias = None
    if mask is not None and xp.isdtype(mask.dtype, "bool"):
        bias = xp.where(mask if opts.mask_true_means == "attend" else ~mask, zero, blocked)
    elif mask is not None:
        bias = xp.astype(mask, dtype, copy=False)
    if bias is not None:
        bias = xp.reshape(bias, (1,) * (4 - bias.ndim) + tuple(bias.shape))
    if B * H * L * dv == 0:
        return xp.zeros((B, H, L, dv), dtype=dtype, device=dev)
    kt = xp.matrix_transpose(k)
    rows = max(1, _BLOCK_ELEMENTS // max(1, B * H * S))
    out = xp.empty((B, H, L, dv), dtype=dtype, device=dev)
    for lo in range(0, L, rows):
        hi = min(L, lo + rows)
        scores = xp.matmul(q[:, :, lo:hi, :], kt)
        scores *= scale
        if bias is not None:
            scores += bias[:, :, lo:hi, :] if bias.shape[2] > 1 else bias
        t = _kth_largest(scores, top_k)
        if opts.ties == "lower_index":
            above, tied = scores > t, scores == t
            need = top_k - xp.sum(xp.astype(above, xp.int32), axis=-1, keepdims=True)
            running = xp.cumulative_sum(xp.astype(tied, xp.int32), axis=-1)
            kept = above | (tied & (running <= need))
        else:
            kept = scores >= t
        row_max = xp.max(scores, axis=-1, keepdims=True)  # NaN propagates
        dead = row_max == -math.inf  # no finite logit: a zero row
        scores -= xp.where(dead, zero, row_max)
        xp.exp(scores, out=scores)  # numpy, torch and cupy all take out= (beyond the standard)
        scores = xp.where(kept, scores, zero)
        block = xp.matmul(scores, v)
        block /= xp.where(dead, xp.ones_like(row_max), xp.sum(scores, axis=-1, keepdims=True))
        out[:, :, lo:hi, :] = block
    return out
