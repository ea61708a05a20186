"""multi_head_attention through the array API: batched GEMMs, in-place softmax.

One code for NumPy, torch (CPU and CUDA) and CuPy via array-api-compat: each projection is a
single GEMM over all B·L rows, the scale folds into q, heads are split by a reshape (no copy
of k: its transpose is a view), scores for all (batch, head) pairs come from one batched
matmul, and the softmax runs in place on them. Everything stays in the input dtype.
"""

from __future__ import annotations

import math
from typing import Any

from array_api_compat import array_namespace, device

from harness import implementation
from suites.multi_head_attention import MhaOptions, check, projection_weights, value_width


@implementation("multi_head_attention", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "batched")
def mha(query: Any, key: Any, value: Any, key_padding_mask: Any, attn_mask: Any,
    in_proj_weight: Any, in_proj_bias: Any, out_proj_weight: Any, out_proj_bias: Any,
    q_proj_weight: Any, k_proj_weight: Any, v_proj_weight: Any, num_heads: int,
    opts: MhaOptions) -> tuple[Any, Any]:  # fmt: skip
    """Three projection GEMMs, one batched QKᵀ, in-place softmax, one batched ·V, out GEMM."""
    dtype = check(query, key, value, key_padding_mask, attn_mask, in_proj_weight, in_proj_bias,
                  out_proj_weight, out_proj_bias, q_proj_weight, k_proj_weight, v_proj_weight,
                  num_heads, opts)  # fmt: skip
    xp, dev = array_namespace(query), device(query)
    E, H = query.shape[2], int(num_heads)
    Dv = value_width(in_proj_weight, v_proj_weight, E)  # the projected value width
    widths = (E, E, Dv)  # of q, k, v; in_proj_bias holds b_q, b_k, b_v back to back
    starts = (0, E, 2 * E)
    w_in = projection_weights(in_proj_weight, q_proj_weight, k_proj_weight, v_proj_weight, E)
    zero = xp.asarray(0.0, dtype=dtype, device=dev)
    ninf = xp.asarray(-math.inf, dtype=dtype, device=dev)

    def project(x: Any, i: int, factor: float = 1.0) -> Any:
        """x·W_iᵀ + b_i as one 2-D GEMM over the rows in storage order, then (B, H, n, d_h)
        (d_v = D_v / H columns a head for v)."""
        rows = xp.reshape(x, (x.shape[0] * x.shape[1], x.shape[2]))
        y = xp.matmul(rows, xp.matrix_transpose(w_in[i]))
        if in_proj_bias is not None:
            y += in_proj_bias[starts[i] : starts[i] + widths[i]]
        if factor != 1.0:
            y *= factor
        # heads: contiguous blocks of width / H columns
        y = xp.reshape(y, (x.shape[0], x.shape[1], H, widths[i] // H))
        return xp.permute_dims(y, (0, 2, 1, 3) if opts.batch_first else (1, 2, 0, 3))

    def additive(mask: Any) -> Any:
        """A bool mask as 0 / -inf in the result dtype, a float one as it is."""
        if xp.isdtype(mask.dtype, "bool"):
            keep = mask if opts.mask_true_means == "attend" else ~mask
            return xp.where(keep, zero, ninf)
        return xp.astype(mask, dtype, copy=False)

    b, n = (0, 1) if opts.batch_first else (1, 0)  # the batch and sequence axes
    B, L, S = query.shape[b], query.shape[n], key.shape[n]
    q = project(query, 0, 1.0 / math.sqrt(E // H))  # the softmax scale, folded into q
    k = xp.matrix_transpose(project(key, 1))  # (B, H, d_h, S): a view
    v = project(value, 2)
    scores = xp.matmul(q, k)  # (B, H, L, S)
    if key_padding_mask is not None:
        scores += xp.reshape(additive(key_padding_mask), (B, 1, 1, S))
    if attn_mask is not None:
        shape = (1, 1, L, S) if attn_mask.ndim == 2 else (B, H, L, S)
        scores += xp.reshape(additive(attn_mask), shape)
    top = (
        xp.max(scores, axis=-1, keepdims=True)
        if S
        else xp.full((B, H, L, 1), -math.inf, dtype=dtype, device=dev)
    )
    dead = top == -math.inf  # no key left for this query
    scores -= xp.where(dead, zero, top)
    xp.exp(scores, out=scores)  # numpy, torch and cupy all take out= (beyond the standard)
    total = xp.sum(scores, axis=-1, keepdims=True)
    scores /= xp.where(dead, xp.ones_like(total), total)
    nan_rows = opts.fully_masked == "nan" and bool(xp.any(dead))  # a pass only when needed
    if nan_rows:
        scores = xp.where(dead, xp.asarray(math.nan, dtype=dtype, device=dev), scores)
    context = xp.matmul(scores, v)  # (B, H, L, d_v); dead rows: 0, or NaN unless S = 0
    if nan_rows and not S:
        context = xp.where(dead, xp.asarray(math.nan, dtype=dtype, device=dev), context)
    # back to the storage order of query, so the output GEMM writes the result in place
    context = xp.permute_dims(context, (0, 2, 1, 3) if opts.batch_first else (2, 0, 1, 3))
    if out_proj_weight is None:  # out_proj=False: the concatenated heads are the output
        out = xp.reshape(context, (context.shape[0], context.shape[1], Dv))
    else:
        rows = xp.reshape(context, (context.shape[0] * context.shape[1], Dv))
        out = xp.matmul(rows, xp.matrix_transpose(out_proj_weight))
        if out_proj_bias is not None:
            out += out_proj_bias
        out = xp.reshape(out, (context.shape[0], context.shape[1], E))
    if not opts.need_weights:
        return out, None
    weights = xp.mean(scores, axis=1) if opts.average_attn_weights else scores
    return out, weights
