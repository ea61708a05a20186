"""scaled_dot_product_attention with Numba: one query row per task, online softmax over key tiles.

Flash-attention's recurrence on the CPU: each tile of keys updates a running max, a running
denominator and a d_v-wide accumulator (rescaled when the max grows), so no (L, S) scores exist.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from harness import implementation
from harness.numba_threads import threaded_njit
from suites.scaled_dot_product_attention import ARGS, AttentionOptions, causal_offset

_TILE = 64  # keys per tile: a tile of logits stays in L1 next to the accumulator
# No "nnan"/"ninf": -inf marks blocked keys and NaN must propagate; the rest lets loops vectorise.
_FASTMATH = {"reassoc", "contract", "nsz", "arcp"}


@threaded_njit(fastmath=_FASTMATH)
def _kernel(
    q: Any,
    kt: Any,
    v: Any,
    bias: Any,
    has_bias: bool,
    causal: bool,
    offset: int,
    scale: Any,
    consts: Any,
    out: Any,
) -> None:
    B, H, L, d = q.shape
    S, dv = kt.shape[3], v.shape[3]
    zero, neg_inf, dead_value = consts[0], consts[1], consts[2]  # typed: no float64 creep
    for r in numba.prange(B * H * L):
        b, h, i = r // (H * L), (r // L) % H, r % L
        qi, kb, vb = q[b, h, i], kt[b, h], v[b, h]  # 1-D/2-D views keep the indexing flat
        tile = np.empty(_TILE, dtype=q.dtype)
        acc = np.zeros(dv, dtype=q.dtype)
        top, total, saw_nan = neg_inf, zero, False
        stop = min(S, max(0, i + offset + 1)) if causal else S
        for j0 in range(0, stop, _TILE):
            n = min(_TILE, stop - j0)
            tile[:n] = 0
            for t in range(d):  # outer product form: the inner loop runs along keys
                qs, krow = qi[t] * scale, kb[t, j0 : j0 + n]
                for jj in range(n):
                    tile[jj] += qs * krow[jj]
            tile_top = neg_inf
            for jj in range(n):
                if has_bias:
                    tile[jj] += bias[b, h, i, j0 + jj]
                s = tile[jj]
                if s != s:
                    saw_nan = True
                elif s > tile_top:
                    tile_top = s
            if tile_top == neg_inf:
                continue  # every key of the tile is blocked
            if tile_top > top:  # rescale what was accumulated under the old max
                alpha = math.exp(top - tile_top)
                total *= alpha
                for c in range(dv):
                    acc[c] *= alpha
                top = tile_top
            for jj in range(n):
                p = math.exp(tile[jj] - top)
                total += p
                vrow = vb[j0 + jj]
                for c in range(dv):
                    acc[c] += p * vrow[c]
        if saw_nan:
            out[b, h, i, :] = np.nan
        elif top == neg_inf:
            out[b, h, i, :] = dead_value
        else:
            for c in range(dv):
                out[b, h, i, c] = acc[c] / total


@implementation("scaled_dot_product_attention", "numba", "online_softmax")
def attention(q: Any, k: Any, v: Any, mask: Any, scale: Any, opts: AttentionOptions) -> Any:
    """Mask-to-bias in NumPy; the compiled kernel does all the arithmetic (float16 inputs in
    float32: logits past 65504 would overflow, and Numba has no float16 arithmetic)."""
    dtype = ARGS.check(q, k, v, mask, scale)
    if dtype == np.float16:
        if mask is not None and mask.dtype != np.bool_:
            mask = mask.astype(np.float32)
        q, k, v = (a.astype(np.float32) for a in (q, k, v))
        return _attention(q, k, v, mask, scale, opts, np.dtype(np.float32)).astype(np.float16)
    return _attention(q, k, v, mask, scale, opts, dtype)


def _attention(
    q: Any, k: Any, v: Any, mask: Any, scale: Any, opts: AttentionOptions, dtype: Any
) -> Any:
    (B, H, L, d), S, dv = q.shape, k.shape[2], v.shape[3]
    if mask is None:
        bias = np.zeros((1, 1, 1, 1), dtype=dtype)
    elif mask.dtype == np.bool_:
        keep = mask if opts.mask_true_means == "attend" else ~mask
        bias = np.where(keep, dtype.type(0), dtype.type(-np.inf))
    else:
        bias = mask.astype(dtype, copy=False)
    bias = np.broadcast_to(bias, (B, H, L, S))  # one layout with or without a mask: one compile
    kt = np.ascontiguousarray(k.swapaxes(-1, -2))  # (B, H, d, S): keys contiguous
    out = np.empty((B, H, L, dv), dtype=dtype)
    _kernel(
        np.ascontiguousarray(q),
        kt,
        np.ascontiguousarray(v),
        bias,
        mask is not None,
        opts.is_causal,
        causal_offset(L, S, opts.causal_alignment),
        dtype.type(1.0 / math.sqrt(d) if scale is None else scale),
        np.array([0, -np.inf, 0 if opts.fully_masked == "zero" else np.nan], dtype=dtype),
        out,
    )
    return out
